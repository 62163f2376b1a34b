// .npz reading and writing through libzip (archives are opened from memory, written to the atomic
// writer's temporary file).
#include "ssmkit/io/npz.h"

#include <zip.h>

#include <memory>
#include <unordered_set>

#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/file_bytes.h"
#include "ssmkit/io/npy.h"

namespace ssmkit::io {
namespace {

constexpr std::string_view kNpySuffix = ".npy";
// Members are read in chunks of this size: memory follows the real data, not the declared size.
constexpr size_t kReadChunk = size_t{1} << 20;
// A zip archive with no entries: only the end-of-central-directory record (libzip writes no file
// at all for an empty archive).
constexpr char kEmptyZip[22] = {'P', 'K', 5, 6};

std::string zip_error_text(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

struct ArchiveCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
using Archive = std::unique_ptr<zip_t, ArchiveCloser>;

struct MemberCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
using Member = std::unique_ptr<zip_file_t, MemberCloser>;

std::string read_member(zip_t* archive, zip_uint64_t index, const std::string& where) {
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(archive, index, 0, &stat) != 0 || (stat.valid & ZIP_STAT_SIZE) == 0) {
    throw InputError(where + ": cannot read the zip entry (" + zip_strerror(archive) + ")");
  }
  Member file(zip_fopen_index(archive, index, 0));
  if (!file) {
    throw InputError(where + ": cannot open the zip entry (" + zip_strerror(archive) + ")");
  }
  std::string data;
  while (true) {
    const size_t old_size = data.size();
    data.resize(old_size + kReadChunk);
    const zip_int64_t got = zip_fread(file.get(), data.data() + old_size, kReadChunk);
    if (got < 0) {
      throw InputError(where + ": corrupt zip entry (" + zip_file_strerror(file.get()) + ")");
    }
    data.resize(old_size + static_cast<size_t>(got));
    if (got == 0) break;
    if (data.size() > stat.size) break;
  }
  if (data.size() != stat.size) {
    throw InputError(where + ": zip entry holds " + std::to_string(data.size()) +
                     " bytes, its directory says " + std::to_string(stat.size));
  }
  return data;
}

}  // namespace

void Npz::set(const std::string& name, NpyArray array) {
  for (auto& [existing, value] : entries_) {
    if (existing == name) {
      value = std::move(array);
      return;
    }
  }
  entries_.emplace_back(name, std::move(array));
}

bool Npz::contains(const std::string& name) const {
  for (const auto& entry : entries_) {
    if (entry.first == name) return true;
  }
  return false;
}

std::vector<std::string> Npz::names() const {
  std::vector<std::string> names;
  for (const auto& entry : entries_)
    names.push_back(entry.first);
  return names;
}

const NpyArray& Npz::get(const std::string& name) const {
  for (const auto& entry : entries_) {
    if (entry.first == name) return entry.second;
  }
  std::string available;
  for (const auto& entry : entries_)
    available += (available.empty() ? "'" : ", '") + entry.first + "'";
  throw InputError((origin_.empty() ? std::string("npz") : origin_) + ": no array '" + name +
                   "' (arrays: " + available + ")");
}

const NdArray& Npz::array(const std::string& name) const {
  return numeric_array(get(name), origin_ + " array '" + name + "'");
}

const StringArray& Npz::strings(const std::string& name) const {
  return string_array(get(name), origin_ + " array '" + name + "'");
}

Npz decode_npz(std::string_view bytes, const std::string& origin) {
  if (bytes.empty()) throw InputError(origin + ": empty file, expected a .npz (zip) archive");
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source == nullptr) {
    const std::string text = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw InputError(origin + ": cannot read (" + text + ")");
  }
  Archive archive(zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error));
  if (!archive) {
    zip_source_free(source);
    const std::string text = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw InputError(origin + ": not a valid .npz (zip) archive (" + text + ")");
  }
  zip_error_fini(&error);

  Npz npz;
  npz.set_origin(origin);
  std::unordered_set<std::string> seen;
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    const char* raw_name = zip_get_name(archive.get(), index, ZIP_FL_ENC_GUESS);
    if (raw_name == nullptr) {
      throw InputError(origin + ": zip entry " + std::to_string(i) + " has no readable name");
    }
    std::string name = raw_name;
    if (!name.empty() && name.back() == '/') continue;  // folder entry
    const std::string where = origin + " member '" + name + "'";
    if (name.size() > kNpySuffix.size() &&
        name.compare(name.size() - kNpySuffix.size(), kNpySuffix.size(), kNpySuffix) == 0) {
      name.resize(name.size() - kNpySuffix.size());
    }
    if (!seen.insert(name).second) {
      throw InputError(where + ": the archive holds the array '" + name + "' twice");
    }
    const std::string data = read_member(archive.get(), index, where);
    npz.set(name, decode_npy(data, where));
  }
  return npz;
}

Npz read_npz(const std::string& path) {
  return decode_npz(read_file_bytes(path), path);
}

void write_npz(const std::string& path, const Npz& npz, NpzCompression compression) {
  // Encoded members must outlive zip_close(), which is when libzip reads them.
  std::vector<std::string> encoded;
  encoded.reserve(npz.size());
  for (const auto& entry : npz.entries())
    encoded.push_back(encode_npy(entry.second));

  if (npz.size() == 0) {
    write_file_atomic(path, std::string_view(kEmptyZip, sizeof(kEmptyZip)));
    return;
  }
  AtomicFileWriter writer(path);
  writer.release_handle();
  int code = 0;
  Archive archive(zip_open(writer.temp_path().c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code));
  if (!archive)
    throw InputError(path + ": cannot create a zip archive (" + zip_error_text(code) + ")");
  const zip_int32_t method =
      compression == NpzCompression::deflated ? ZIP_CM_DEFLATE : ZIP_CM_STORE;
  for (size_t i = 0; i < encoded.size(); ++i) {
    const std::string member = npz.entries()[i].first + std::string(kNpySuffix);
    zip_source_t* source =
        zip_source_buffer(archive.get(), encoded[i].data(), encoded[i].size(), 0);
    if (source == nullptr) {
      throw InputError(path + ": cannot add '" + member + "' (" + zip_strerror(archive.get()) +
                       ")");
    }
    const zip_int64_t index =
        zip_file_add(archive.get(), member.c_str(), source, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
    if (index < 0) {
      zip_source_free(source);
      throw InputError(path + ": cannot add '" + member + "' (" + zip_strerror(archive.get()) +
                       ")");
    }
    if (zip_set_file_compression(archive.get(), static_cast<zip_uint64_t>(index), method, 0) != 0) {
      throw InputError(path + ": cannot set compression for '" + member + "' (" +
                       zip_strerror(archive.get()) + ")");
    }
  }
  zip_t* raw = archive.release();
  if (zip_close(raw) != 0) {
    const std::string text = zip_strerror(raw);
    zip_discard(raw);
    throw InputError(path + ": writing the archive failed (" + text + ")");
  }
  writer.commit();
}

}  // namespace ssmkit::io
