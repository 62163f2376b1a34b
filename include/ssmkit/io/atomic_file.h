// Atomic file output: write to a temporary file beside the target, fsync, rename. A program killed
// at any moment leaves either the previous file or the complete new one, never half of one.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace ssmkit {

// Writes `contents` to `path` atomically. Throws InputError naming the path on failure.
void write_file_atomic(const std::string& path, std::string_view contents);

// Streams a file into place atomically. Write with write(); commit() fsyncs and renames. If the
// writer is destroyed without commit(), the temporary file is removed and `path` is untouched.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }
  // Path of the temporary file, for libraries that want to write a file by name themselves.
  const std::string& temp_path() const { return temp_path_; }
  // Closes our handle without removing the file, so another library can write temp_path().
  void release_handle();
  void commit();

 private:
  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

}  // namespace ssmkit
