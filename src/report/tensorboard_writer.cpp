// TensorBoard event file writer: hand-encoded Event/Summary records in TFRecord framing.
#include "ssmkit/report/tensorboard_writer.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <filesystem>
#include <vector>

#include "ssmkit/io/protobuf_wire.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/tfrecord.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::report {

namespace wire = io::wire;
namespace {

// Field numbers of TensorFlow's event.proto / summary.proto (mirrored in proto/).
namespace field {
constexpr int kEventWallTime = 1;
constexpr int kEventStep = 2;
constexpr int kEventFileVersion = 3;
constexpr int kEventSummary = 5;
constexpr int kSummaryValue = 1;
constexpr int kValueTag = 1;
constexpr int kValueSimpleValue = 2;
constexpr int kValueHisto = 5;
constexpr int kHistoMin = 1;
constexpr int kHistoMax = 2;
constexpr int kHistoNum = 3;
constexpr int kHistoSum = 4;
constexpr int kHistoSumSquares = 5;
constexpr int kHistoBucketLimit = 6;
constexpr int kHistoBucket = 7;
}  // namespace field

// The version string every reader expects in the first record.
constexpr const char* kFileVersion = "brain.Event:2";
// TensorBoard polls files every few seconds; flushing more often only costs system calls.
constexpr auto kFlushInterval = std::chrono::seconds(5);
// Candidate file names tried when several writers start in one second in one folder.
constexpr int kMaxFileNameAttempts = 1000;
// The file name holds whole seconds, zero-padded to ten digits as TensorFlow writes them.
constexpr int kTimestampDigits = 10;

double wall_time_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// POSIX host names are at most 255 bytes.
constexpr size_t kHostNameBuffer = 256;

std::string host_name() {
  char buffer[kHostNameBuffer] = {};
  if (::gethostname(buffer, sizeof(buffer) - 1) != 0 || buffer[0] == '\0') return "localhost";
  return buffer;
}

std::string event_header(int64_t step) {
  std::string event;
  wire::put_double(event, field::kEventWallTime, wall_time_seconds());
  wire::put_int64(event, field::kEventStep, step);
  return event;
}

std::string summary_event(int64_t step, const std::string& value) {
  std::string summary;
  wire::put_bytes(summary, field::kSummaryValue, value);
  std::string event = event_header(step);
  wire::put_bytes(event, field::kEventSummary, summary);
  return event;
}

void check_tag(const std::string& tag, const char* fn) {
  TORCH_CHECK(!tag.empty(), fn, ": the tag is empty");
}

}  // namespace

TensorBoardWriter::TensorBoardWriter(const std::string& log_dir) {
  std::error_code error;
  std::filesystem::create_directories(log_dir, error);
  if (error || !std::filesystem::is_directory(log_dir)) {
    throw InputError(log_dir + ": cannot create the TensorBoard log folder (" +
                     (error ? error.message() : "not a folder") + ")");
  }
  char stamp[32];
  std::snprintf(stamp, sizeof(stamp), "%0*" PRId64, kTimestampDigits,
                static_cast<int64_t>(wall_time_seconds()));
  const auto base = (std::filesystem::path(log_dir) /
                     ("events.out.tfevents." + std::string(stamp) + "." + host_name()))
                        .string();
  for (int attempt = 0; attempt < kMaxFileNameAttempts && file_ == nullptr; ++attempt) {
    path_ = attempt == 0 ? base : base + "." + std::to_string(attempt);
    file_ = std::fopen(path_.c_str(), "wbx");  // x: never reuse another writer's file
    if (file_ == nullptr && errno != EEXIST) {
      throw InputError(path_ + ": cannot create the event file (" + std::strerror(errno) + ")");
    }
  }
  if (file_ == nullptr) throw InputError(base + ": too many event files with this name");
  std::string event;
  wire::put_double(event, field::kEventWallTime, wall_time_seconds());
  wire::put_bytes(event, field::kEventFileVersion, kFileVersion);
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    write_event(event);
    flush_locked();
  } catch (...) {
    std::fclose(file_);  // the destructor does not run when the constructor throws
    file_ = nullptr;
    throw;
  }
}

TensorBoardWriter::~TensorBoardWriter() {
  try {
    close();
  } catch (const std::exception& e) {
    spdlog::error("TensorBoard: {}", e.what());
  }
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  check_tag(tag, "TensorBoardWriter::add_scalar");
  std::string summary_value;
  wire::put_bytes(summary_value, field::kValueTag, tag);
  wire::put_float(summary_value, field::kValueSimpleValue, static_cast<float>(value));
  const auto event = summary_event(step, summary_value);
  std::lock_guard<std::mutex> lock(mutex_);
  write_event(event);
}

void TensorBoardWriter::add_histogram(const std::string& tag, const at::Tensor& values,
                                      int64_t step, int64_t num_buckets) {
  const char* fn = "TensorBoardWriter::add_histogram";
  check_tag(tag, fn);
  check_defined(values, fn, "values");
  TORCH_CHECK(num_buckets > 0, fn, ": num_buckets is ", num_buckets, ", expected at least 1");
  const auto all = values.detach().to(at::kCPU, at::kDouble).reshape({-1});  // (M)
  const auto finite = all.masked_select(all.isfinite());                     // (F)
  if (finite.numel() < all.numel()) {
    spdlog::warn(
        "TensorBoard: histogram '{}' at step {}: {} of {} values are not finite and are "
        "left out",
        tag, step, all.numel() - finite.numel(), all.numel());
  }
  if (finite.numel() == 0) {
    spdlog::warn("TensorBoard: histogram '{}' at step {} has no finite value; not written", tag,
                 step);
    return;
  }
  const double low = finite.min().item<double>();
  const double high = finite.max().item<double>();
  // All values equal: one bucket ending at that value holds them all.
  const int64_t buckets = high > low ? num_buckets : 1;
  const double width = (high - low) / static_cast<double>(buckets);
  at::Tensor bucket_counts;  // (buckets)
  if (buckets == 1) {
    bucket_counts = torch::full({1}, finite.numel(), torch::kDouble);
  } else {
    const auto index = ((finite - low) / width).floor().clamp(0, buckets - 1).to(at::kLong);
    bucket_counts = at::bincount(index, /*weights=*/{}, buckets).to(at::kDouble);
  }
  std::vector<double> limits(static_cast<size_t>(buckets));
  for (int64_t i = 0; i < buckets; ++i)
    limits[i] = low + width * static_cast<double>(i + 1);
  limits.back() = high;  // exact, whatever the rounding of low + width * buckets
  const double* counts_data = bucket_counts.data_ptr<double>();
  const std::vector<double> counts(counts_data, counts_data + buckets);

  std::string histogram;
  wire::put_double(histogram, field::kHistoMin, low);
  wire::put_double(histogram, field::kHistoMax, high);
  wire::put_double(histogram, field::kHistoNum, static_cast<double>(finite.numel()));
  wire::put_double(histogram, field::kHistoSum, finite.sum().item<double>());
  wire::put_double(histogram, field::kHistoSumSquares, finite.square().sum().item<double>());
  wire::put_packed_doubles(histogram, field::kHistoBucketLimit, limits);
  wire::put_packed_doubles(histogram, field::kHistoBucket, counts);
  std::string summary_value;
  wire::put_bytes(summary_value, field::kValueTag, tag);
  wire::put_bytes(summary_value, field::kValueHisto, histogram);
  const auto event = summary_event(step, summary_value);
  std::lock_guard<std::mutex> lock(mutex_);
  write_event(event);
}

void TensorBoardWriter::write_event(const std::string& event) {
  if (file_ == nullptr) throw InputError(path_ + ": the TensorBoard writer is closed");
  const auto record = io::frame_tfrecord(event);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size()) {
    throw InputError(path_ + ": write failed (" + std::strerror(errno) + ")");
  }
  if (std::chrono::steady_clock::now() - last_flush_ >= kFlushInterval) flush_locked();
}

void TensorBoardWriter::flush_locked() {
  if (file_ == nullptr) return;
  if (std::fflush(file_) != 0) {
    throw InputError(path_ + ": flush failed (" + std::strerror(errno) + ")");
  }
  last_flush_ = std::chrono::steady_clock::now();
}

void TensorBoardWriter::flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  flush_locked();
}

void TensorBoardWriter::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (file_ == nullptr) return;
  std::FILE* file = file_;
  file_ = nullptr;
  const bool flushed = std::fflush(file) == 0;
  const bool closed = std::fclose(file) == 0;
  if (!flushed || !closed) {
    throw InputError(path_ + ": closing the event file failed (" + std::strerror(errno) + ")");
  }
}

}  // namespace ssmkit::report
