// Writes the Trainer's metrics.jsonl in its run folder: a "batch" record per optimizer step,
// "weights" records where the Trainer computed weight statistics, an "epoch" record per epoch and
// an "eval" record for the test pass. A resumed run continues the stream from its checkpoint's
// step.
#pragma once

#include <memory>

#include "ssmkit/report/metrics_stream.h"
#include "ssmkit/train/callback.h"

namespace ssmkit::report {

class MetricsStreamCallback : public train::Callback {
 public:
  // Writes nothing for a run without a run folder.
  void on_train_begin(const train::TrainBeginInfo& info) override;
  void on_batch_end(const train::StepInfo& info) override;
  void on_epoch_end(const train::EpochSummary& summary) override;
  void on_evaluation_end(const train::EvaluationResult& result) override;

 private:
  std::unique_ptr<MetricsStream> stream_;  // null without a run folder
  int64_t step_ = 0;                       // global step of the last record
};

}  // namespace ssmkit::report
