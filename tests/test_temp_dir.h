// A fresh temporary folder per test, removed afterwards. The one TempDir of every suite.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace ssmkit::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Path of `name` inside the folder.
  std::string file(const std::string& name) const;
  // Writes `contents` to <folder>/<name> and returns its path.
  std::string write(const std::string& name, const std::string& contents) const;
  // Number of entries in the folder (to check that nothing half-written is left).
  size_t count_entries() const;

 private:
  std::filesystem::path path_;
};

}  // namespace ssmkit::testing
