// Logs a training run to TensorBoard through the Trainer's callbacks, so every program gets the
// same tags: per optimizer step train/loss, train/lr and train/grad_norm; per epoch (x axis: the
// epoch) epoch/train_loss, epoch/val_loss, epoch/<metric> for each validation metric, epoch/lr and
// epoch/seconds, plus weight_norm/<parameter>; after a test pass test/loss and test/<metric>.
// A resumed run adds a new event file to the same folder; TensorBoard merges them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ssmkit/train/callback.h"
#include "ssmkit/report/tensorboard_writer.h"

namespace ssmkit::report {

struct TensorBoardCallbackOptions {
  // Per-step scalars every N optimizer steps (1: all of them).
  int64_t log_every_steps = 1;
  // The L2 norm of every parameter at each epoch end.
  bool weight_norms = true;
};

class TensorBoardCallback : public train::Callback {
 public:
  // Creates `log_dir` and an event file in it (InputError when it cannot).
  explicit TensorBoardCallback(const std::string& log_dir, TensorBoardCallbackOptions options = {});

  void on_train_begin(const train::TrainBeginInfo& info) override;
  void on_batch_end(const train::StepInfo& info) override;
  void on_epoch_end(const train::EpochSummary& summary) override;
  void on_evaluation_end(const train::EvaluationResult& result) override;
  void on_train_end(const train::TrainEndInfo& info) override;

  // Path of the event file.
  const std::string& path() const { return writer_->path(); }

 private:
  TensorBoardCallbackOptions options_;
  std::unique_ptr<TensorBoardWriter> writer_;
  int64_t last_epoch_ = 0;  // epoch of the latest summary: the x of a later test pass
};

}  // namespace ssmkit::report
