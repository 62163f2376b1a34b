// Epoch timing shared by the epoch benchmarks: a Trainer callback that records each epoch's wall
// seconds and its parts, and the median after the warm-up epoch. On CUDA it can bracket one epoch
// with the CUDA profiler API, for `ncu --profile-from-start off`.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <vector>

#include "cuda_profiler.h"
#include "ssmkit/train/callback.h"

namespace ssmkit::bench {

// Wall seconds of each epoch (training and validation), and its parts: the training steps (to the
// last step's end), the validation pass, and the rest (the epoch's bookkeeping).
class EpochClock : public train::Callback {
 public:
  // profile_epoch > 0 on CUDA: the profiler brackets that epoch (1-based), validation included.
  explicit EpochClock(c10::Device device, int64_t profile_epoch = 0)
      : device_(device), profile_epoch_(device.is_cuda() ? profile_epoch : 0) {}
  void on_epoch_begin(int64_t epoch, int64_t /*batches*/) override {
    profiling_ = epoch == profile_epoch_;
    if (profiling_) cuda_profiler(true);
    start_ = now();
  }
  // The Trainer reads each step's loss on the host, so a step has finished when this runs.
  void on_batch_end(const train::StepInfo& /*info*/) override { last_step_ = now(); }
  void on_evaluation_end(const train::EvaluationResult& result) override {
    if (result.phase == "val") validation_ = result.seconds;
  }
  void on_epoch_end(const train::EpochSummary& /*summary*/) override {
    if (device_.is_cuda()) torch::cuda::synchronize();
    if (profiling_) cuda_profiler(false);
    const double total = seconds_between(start_, now());
    const double steps = seconds_between(start_, last_step_);
    seconds.push_back(total);
    parts.push_back({steps, validation_, total - steps - validation_});
  }
  std::vector<double> seconds;
  std::vector<std::array<double, 3>> parts;  // training steps, validation, rest

 private:
  using Clock = std::chrono::steady_clock;
  static Clock::time_point now() { return Clock::now(); }
  static double seconds_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  }
  c10::Device device_;
  int64_t profile_epoch_;
  bool profiling_ = false;
  Clock::time_point start_, last_step_;
  double validation_ = 0.0;
};

// Median of the values after the first (warm-up) one.
double median_after_warmup(std::vector<double> values) {
  if (values.size() > 1) values.erase(values.begin());
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace ssmkit::bench
