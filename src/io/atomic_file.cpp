// Atomic file output (temp file + fsync + rename).
#include "ssmkit/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "ssmkit/io/error.h"

namespace ssmkit {
namespace {

std::string temp_name_for(const std::string& path) {
  std::random_device rd;
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd() % 1000000);
}

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;  // best effort for the directory entry
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path)
    : path_(std::move(path)), temp_path_(temp_name_for(path_)) {
  const auto parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent)) {
    throw InputError(path_ + ": cannot write, folder " + parent.string() + " does not exist");
  }
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (file_ == nullptr) {
    throw InputError(path_ + ": cannot write (" + std::strerror(errno) + ")");
  }
}

AtomicFileWriter::~AtomicFileWriter() {
  if (file_ != nullptr) std::fclose(file_);
  if (!committed_) std::remove(temp_path_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t size) {
  if (file_ == nullptr) throw InputError(path_ + ": write after the file was released");
  if (size > 0 && std::fwrite(data, 1, size, file_) != size) {
    throw InputError(path_ + ": write failed (" + std::strerror(errno) + ")");
  }
}

void AtomicFileWriter::release_handle() {
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
  }
}

void AtomicFileWriter::commit() {
  if (file_ != nullptr) {
    if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
      throw InputError(path_ + ": flush failed (" + std::strerror(errno) + ")");
    }
    std::fclose(file_);
    file_ = nullptr;
  } else {
    fsync_path(temp_path_, false);
  }
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    throw InputError(path_ + ": rename from temporary file failed (" + std::strerror(errno) + ")");
  }
  committed_ = true;
  const auto parent = std::filesystem::path(path_).parent_path();
  fsync_path(parent.empty() ? "." : parent.string(), true);
}

void write_file_atomic(const std::string& path, std::string_view contents) {
  AtomicFileWriter writer(path);
  writer.write(contents);
  writer.commit();
}

}  // namespace ssmkit
