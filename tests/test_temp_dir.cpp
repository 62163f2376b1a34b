// Temporary folders for tests that read or write files.
#include "test_temp_dir.h"

#include <unistd.h>

#include <atomic>
#include <fstream>

namespace ssmkit::testing {

TempDir::TempDir() {
  // Unique per process (ctest runs suites in parallel) and per folder within one.
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("ssmkit_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::file(const std::string& name) const {
  return (path_ / name).string();
}

std::string TempDir::write(const std::string& name, const std::string& contents) const {
  const std::filesystem::path file = path_ / name;
  std::ofstream(file, std::ios::binary) << contents;
  return file.string();
}

size_t TempDir::count_entries() const {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(path_))
    ++n;
  return n;
}

}  // namespace ssmkit::testing
