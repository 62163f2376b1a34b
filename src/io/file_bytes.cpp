// Whole-file reads and in-memory gzip decompression through zlib.
#include "ssmkit/io/file_bytes.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "ssmkit/io/error.h"

namespace ssmkit::io {
namespace {

constexpr unsigned char kGzipMagic0 = 0x1f;
constexpr unsigned char kGzipMagic1 = 0x8b;
// zlib windowBits for "gzip wrapper only" (15-bit window + 16).
constexpr int kGzipWindowBits = 15 + 16;
// Output grows in steps of this size; bounds memory by what the data really expands to.
constexpr size_t kInflateChunk = size_t{1} << 20;

}  // namespace

std::string read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw InputError(path + ": is a folder, expected a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InputError(path + ": cannot open (" + std::strerror(errno) + ")");
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(path + ": read failed");
  return bytes;
}

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == kGzipMagic0 &&
         static_cast<unsigned char>(bytes[1]) == kGzipMagic1;
}

std::string gunzip(std::string_view compressed, const std::string& origin) {
  std::string out;
  size_t consumed = 0;
  // One iteration per gzip member (gzip allows several concatenated).
  while (consumed < compressed.size()) {
    if (!is_gzip(compressed.substr(consumed))) {
      if (consumed == 0) throw InputError(origin + ": not gzip data (bad magic number)");
      // Trailing non-gzip bytes after a complete member: gzip(1) ignores zero padding only.
      for (size_t i = consumed; i < compressed.size(); ++i) {
        if (compressed[i] != '\0') {
          throw InputError(origin + ": unexpected bytes after the gzip data at byte offset " +
                           std::to_string(consumed));
        }
      }
      break;
    }
    z_stream stream{};
    if (inflateInit2(&stream, kGzipWindowBits) != Z_OK) {
      throw InputError(origin + ": cannot initialise zlib");
    }
    const size_t member_start = consumed;
    const size_t remaining = compressed.size() - consumed;
    if (remaining > std::numeric_limits<uInt>::max()) {
      inflateEnd(&stream);
      throw InputError(origin + ": gzip data larger than 4 GiB is not supported");
    }
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data() + consumed));
    stream.avail_in = static_cast<uInt>(remaining);
    int status = Z_OK;
    while (status != Z_STREAM_END) {
      const size_t old_size = out.size();
      out.resize(old_size + kInflateChunk);
      stream.next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
      stream.avail_out = static_cast<uInt>(kInflateChunk);
      status = inflate(&stream, Z_NO_FLUSH);
      out.resize(old_size + (kInflateChunk - stream.avail_out));
      if (status == Z_STREAM_END) break;
      if (status == Z_BUF_ERROR ||
          (status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0)) {
        inflateEnd(&stream);
        throw InputError(origin + ": truncated gzip data (decompressed " +
                         std::to_string(out.size()) + " bytes before the data ended)");
      }
      if (status != Z_OK) {
        const std::string message = stream.msg != nullptr ? stream.msg : "corrupt data";
        const size_t offset = member_start + (remaining - stream.avail_in);
        inflateEnd(&stream);
        throw InputError(origin + ": corrupt gzip data near compressed byte offset " +
                         std::to_string(offset) + " (" + message + ")");
      }
    }
    consumed = member_start + (remaining - stream.avail_in);
    inflateEnd(&stream);
  }
  return out;
}

std::string gunzip_if_compressed(std::string bytes, const std::string& origin) {
  return is_gzip(bytes) ? gunzip(bytes, origin) : std::move(bytes);
}

}  // namespace ssmkit::io
