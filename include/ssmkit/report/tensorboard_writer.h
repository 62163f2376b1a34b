// Writes TensorBoard event files (events.out.tfevents.<time>.<host>): scalars and histograms.
// The Event/Summary protobuf messages are encoded by hand (see src/train/protobuf_wire.h), so the
// writer needs no protobuf library and works in every build; proto/*.proto hold the matching
// subset of TensorFlow's definitions, and the tests parse the files back with protobuf.
//
// An event file is a log that TensorBoard reads while it grows, so it is appended to rather than
// written atomically; a run killed mid-write leaves at most one truncated last record, which
// TensorBoard skips.
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace ssmkit::report {

// Enough buckets to show the shape of a weight distribution, few enough to keep records small.
inline constexpr int64_t kDefaultHistogramBuckets = 30;

class TensorBoardWriter {
 public:
  // Creates `log_dir` (and its parents) and a new event file in it, whose first record is the
  // file version "brain.Event:2". Throws InputError when the folder or file cannot be created.
  explicit TensorBoardWriter(const std::string& log_dir);
  // Closes the file; errors are logged, never thrown.
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // Logs `value` under `tag` (e.g. "train/loss") at `step`. Thread-safe.
  void add_scalar(const std::string& tag, double value, int64_t step);
  // Logs the distribution of `values` in `num_buckets` equal-width buckets between their minimum
  // and maximum. Non-finite values are left out (with a warning); if none is finite nothing is
  // written. Thread-safe.
  void add_histogram(const std::string& tag, const at::Tensor& values,  // (...) any shape
                     int64_t step, int64_t num_buckets = kDefaultHistogramBuckets);
  // Makes everything logged so far visible to readers. Records are also flushed on their own
  // every few seconds.
  void flush();
  // Flushes and closes the file; later add_* calls throw. Idempotent.
  void close();

  // Path of the event file.
  const std::string& path() const { return path_; }

 private:
  void write_event(const std::string& event);
  void flush_locked();

  std::string path_;
  std::FILE* file_ = nullptr;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_flush_;
};

}  // namespace ssmkit::report
