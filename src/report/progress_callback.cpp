// The per-epoch progress bar driven by the Trainer's callbacks.
#include "ssmkit/report/progress_callback.h"

#include <string>

namespace ssmkit::report {

ProgressCallback::ProgressCallback(ProgressMode mode, std::ostream& out) : mode_(mode), out_(out) {}

void ProgressCallback::on_train_begin(const train::TrainBeginInfo& info) {
  epochs_ = info.epochs;
}

void ProgressCallback::on_epoch_begin(int64_t epoch, int64_t batches) {
  loss_sum_ = 0;
  examples_ = 0;
  bar_ = std::make_unique<ProgressBar>(
      "epoch " + std::to_string(epoch) + "/" + std::to_string(epochs_), batches, mode_, out_);
}

void ProgressCallback::on_batch_end(const train::StepInfo& info) {
  if (!bar_) return;
  loss_sum_ += info.loss * static_cast<double>(info.batch_size);
  examples_ += info.batch_size;
  bar_->update(info.batch, loss_sum_ / static_cast<double>(examples_));
}

void ProgressCallback::on_evaluation_end(const train::EvaluationResult& /*result*/) {
  bar_.reset();
}

void ProgressCallback::on_epoch_end(const train::EpochSummary& /*summary*/) {
  bar_.reset();
}

void ProgressCallback::on_train_end(const train::TrainEndInfo& /*info*/) {
  bar_.reset();
}

}  // namespace ssmkit::report
