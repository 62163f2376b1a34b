// metrics.jsonl: one JSON record per line, flushed as written, for live monitoring and later
// analysis. Every record carries "type" (batch | epoch | weights | eval) and the global "step".
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

namespace ssmkit::report {

class MetricsStream {
 public:
  // Starts an empty stream at `path` (a fresh run).
  static MetricsStream create(const std::string& path);
  // Continues the stream of a resumed run: keeps the records with step <= `resumed_step` and
  // drops later ones (written after the checkpoint) and any unparsable, half-written line; the
  // kept part is rewritten atomically before appending.
  static MetricsStream resume(const std::string& path, int64_t resumed_step);

  ~MetricsStream();
  MetricsStream(MetricsStream&& other) noexcept;
  MetricsStream& operator=(MetricsStream&& other) noexcept;
  MetricsStream(const MetricsStream&) = delete;
  MetricsStream& operator=(const MetricsStream&) = delete;

  // Appends `record` as one line and flushes it.
  void write(const nlohmann::json& record);

 private:
  MetricsStream(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  static std::FILE* open(const std::string& path, const char* mode);
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace ssmkit::report
