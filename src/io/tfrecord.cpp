// TFRecord framing: writing one record, reading and verifying a whole file.
#include "ssmkit/io/tfrecord.h"

#include <cstdint>
#include <fstream>
#include <iterator>

#include "ssmkit/io/crc32c.h"
#include "ssmkit/io/error.h"

namespace ssmkit::io {
namespace {

constexpr size_t kLengthBytes = sizeof(uint64_t);
constexpr size_t kCrcBytes = sizeof(uint32_t);

template <typename T>
void append_little_endian(std::string& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xffu));
  }
}

template <typename T>
T read_little_endian(const std::string& bytes, size_t offset) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    value |= static_cast<T>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

}  // namespace

std::string frame_tfrecord(std::string_view payload) {
  std::string record;
  record.reserve(kLengthBytes + 2 * kCrcBytes + payload.size());
  append_little_endian<uint64_t>(record, payload.size());
  append_little_endian<uint32_t>(record, masked_crc32c(record.data(), kLengthBytes));
  record.append(payload);
  append_little_endian<uint32_t>(record, masked_crc32c(payload.data(), payload.size()));
  return record;
}

std::vector<std::string> read_tfrecords(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> records;
  size_t offset = 0;
  while (offset < bytes.size()) {
    const auto at = [&](size_t position) { return path + ": at byte " + std::to_string(position); };
    if (bytes.size() - offset < kLengthBytes + kCrcBytes) {
      throw InputError(at(offset) + ": truncated record header");
    }
    const auto length = read_little_endian<uint64_t>(bytes, offset);
    if (read_little_endian<uint32_t>(bytes, offset + kLengthBytes) !=
        masked_crc32c(bytes.data() + offset, kLengthBytes)) {
      throw InputError(at(offset) + ": record length checksum mismatch");
    }
    const size_t data_offset = offset + kLengthBytes + kCrcBytes;
    if (length > bytes.size() - data_offset || bytes.size() - data_offset - length < kCrcBytes) {
      throw InputError(at(offset) + ": truncated record (length " + std::to_string(length) + ")");
    }
    if (read_little_endian<uint32_t>(bytes, data_offset + length) !=
        masked_crc32c(bytes.data() + data_offset, length)) {
      throw InputError(at(data_offset) + ": record data checksum mismatch");
    }
    records.emplace_back(bytes, data_offset, length);
    offset = data_offset + length + kCrcBytes;
  }
  return records;
}

}  // namespace ssmkit::io
