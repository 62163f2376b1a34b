// The Trainer's progress display: one ProgressBar per epoch (step/total, running mean loss, steps
// per second, ETA), drawn from the loop's callbacks.
#pragma once

#include <iostream>
#include <memory>

#include "ssmkit/report/progress_bar.h"
#include "ssmkit/train/callback.h"

namespace ssmkit::report {

class ProgressCallback : public train::Callback {
 public:
  explicit ProgressCallback(ProgressMode mode, std::ostream& out = std::cout);

  void on_train_begin(const train::TrainBeginInfo& info) override;
  void on_epoch_begin(int64_t epoch, int64_t batches) override;
  void on_batch_end(const train::StepInfo& info) override;
  // The bar ends when the epoch's training does: before validation prints anything.
  void on_evaluation_end(const train::EvaluationResult& result) override;
  void on_epoch_end(const train::EpochSummary& summary) override;
  void on_train_end(const train::TrainEndInfo& info) override;

 private:
  ProgressMode mode_;
  std::ostream& out_;
  int64_t epochs_ = 0;
  double loss_sum_ = 0;  // batch losses weighted by batch size, this epoch
  int64_t examples_ = 0;
  std::unique_ptr<ProgressBar> bar_;  // the current epoch's, null between epochs
};

}  // namespace ssmkit::report
