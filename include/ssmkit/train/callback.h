// Hooks into the training loop, as Lightning's callbacks: the progress bar, metrics.jsonl,
// TensorBoard writers, plots and metric reports (report/) plug in here. Every hook has an empty
// default; override the ones you need.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "ssmkit/metrics/weight_statistics.h"

namespace ssmkit::train {

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

struct TrainBeginInfo {
  int64_t first_epoch = 1;  // 1-based epoch the loop starts with (> 1 when resumed)
  int64_t epochs = 0;       // last epoch to run
  int64_t steps_per_epoch = 0;
  int64_t global_step = 0;  // completed optimizer steps so far
  std::string device;
  std::string run_dir;  // empty when the run writes no files
  bool resumed = false;
};

// After each optimizer step.
struct StepInfo {
  int64_t epoch = 0;  // 1-based
  int64_t step = 0;   // global optimizer step, 1-based
  int64_t batch = 0;  // 1-based within the epoch
  int64_t batches = 0;
  int64_t batch_size = 0;
  double loss = kNoValue;
  double lr = kNoValue;         // the rate this step used
  double grad_norm = kNoValue;  // global gradient norm before clipping
  // Set on the steps where weight statistics were computed, else null.
  const std::vector<metrics::ParameterStatistics>* weights = nullptr;
};

// After each epoch's training and validation.
struct EpochSummary {
  int64_t epoch = 0;
  int64_t step = 0;  // global step at the end of the epoch
  double train_loss = kNoValue;
  double val_loss = kNoValue;  // NaN when there is no validation set
  // Validation metrics, named "val_<metric>".
  std::map<std::string, double> metrics;
  double lr = kNoValue;       // the rate of the epoch's last step
  double next_lr = kNoValue;  // the rate after the schedule's epoch update
  double seconds = 0;
  bool improved = false;  // the monitored value improved (a new best checkpoint)
  std::vector<metrics::ParameterStatistics> weights;

  // train_loss, val_loss (when present) and the metrics: the names monitors look up.
  std::map<std::string, double> values() const;
};

// After a validation or test pass.
struct EvaluationResult {
  std::string phase;  // "val", "test", ...
  double loss = kNoValue;
  // Metrics named "<phase>_<metric>".
  std::map<std::string, double> metrics;
  int64_t examples = 0;
  double seconds = 0;
};

struct TrainEndInfo {
  std::string status;  // completed | stopped_early | stopped_by_callback | failed
  std::string message;
  int64_t epochs_completed = 0;
  int64_t global_step = 0;
  std::string monitor;
  int64_t best_epoch = 0;  // 0 when no finite monitored value was seen
  double best_value = kNoValue;
};

// After the Trainer wrote a checkpoint file.
struct CheckpointSaved {
  std::string kind;  // last | best | periodic
  std::string path;
  int64_t epoch = 0;  // completed epochs it holds
  int64_t step = 0;   // completed optimizer steps it holds
};

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(const TrainBeginInfo& /*info*/) {}
  // Before the first batch of each epoch's training.
  virtual void on_epoch_begin(int64_t /*epoch*/, int64_t /*batches*/) {}
  virtual void on_batch_end(const StepInfo& /*info*/) {}
  virtual void on_evaluation_end(const EvaluationResult& /*result*/) {}
  // After the epoch's validation and before its checkpoint is written: what a callback writes
  // here for the epoch is dropped again when a run killed before the checkpoint is resumed.
  virtual void on_epoch_end(const EpochSummary& /*summary*/) {}
  // After each checkpoint file of the epoch is written (atomically, so the file is complete).
  virtual void on_checkpoint_saved(const CheckpointSaved& /*info*/) {}
  virtual void on_train_end(const TrainEndInfo& /*info*/) {}
  // Asked after each epoch's on_epoch_end; true ends training (status "stopped_by_callback").
  virtual bool should_stop() const { return false; }
};

}  // namespace ssmkit::train
