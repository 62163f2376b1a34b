// The metrics.jsonl stream.
#include "ssmkit/report/metrics_stream.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/error.h"

namespace ssmkit::report {

std::FILE* MetricsStream::open(const std::string& path, const char* mode) {
  std::FILE* file = std::fopen(path.c_str(), mode);
  if (file == nullptr) throw InputError(path + ": cannot write (" + std::strerror(errno) + ")");
  return file;
}

MetricsStream MetricsStream::create(const std::string& path) {
  return MetricsStream(path, open(path, "w"));
}

MetricsStream MetricsStream::resume(const std::string& path, int64_t resumed_step) {
  std::string kept;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) continue;
    const auto step = record.find("step");
    if (step == record.end() || !step->is_number_integer()) continue;
    if (step->get<int64_t>() <= resumed_step) kept += line + "\n";
  }
  in.close();
  write_file_atomic(path, kept);
  return MetricsStream(path, open(path, "a"));
}

MetricsStream::~MetricsStream() {
  if (file_ != nullptr) std::fclose(file_);
}

MetricsStream::MetricsStream(MetricsStream&& other) noexcept
    : path_(std::move(other.path_)), file_(std::exchange(other.file_, nullptr)) {}

MetricsStream& MetricsStream::operator=(MetricsStream&& other) noexcept {
  if (this != &other) {
    if (file_ != nullptr) std::fclose(file_);
    path_ = std::move(other.path_);
    file_ = std::exchange(other.file_, nullptr);
  }
  return *this;
}

void MetricsStream::write(const nlohmann::json& record) {
  const std::string line = record.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    throw InputError(path_ + ": write failed (" + std::strerror(errno) + ")");
  }
}

}  // namespace ssmkit::report
