// Redraws the training-curves PNG (plots.h) from the Trainer's log at every epoch end and at the
// end of training: loss (train, val), each validation metric, and the learning rate. Reading the
// trainer's log rather than collecting summaries itself means a resumed run's figure also shows the
// epochs before the interruption.
#pragma once

#include <string>
#include <vector>

#include "ssmkit/train/callback.h"
#include "ssmkit/report/plots.h"
#include "ssmkit/train/training_log.h"

namespace ssmkit::report {

// The panels of a run's history: "loss" (train and val), one per validation metric, and "lr".
std::vector<CurvePanel> training_curve_panels(const train::TrainingLog& log);

class TrainingCurvesCallback : public train::Callback {
 public:
  // `log` is the trainer's (Trainer::log()) and must outlive the callback. Plotting failures are
  // logged as warnings, never thrown: a missing figure must not end a training run.
  TrainingCurvesCallback(std::string path, const train::TrainingLog& log, std::string title = "");

  void on_epoch_end(const train::EpochSummary& summary) override;
  void on_train_end(const train::TrainEndInfo& info) override;

  const std::string& path() const { return path_; }

 private:
  void draw();

  std::string path_;
  const train::TrainingLog& log_;
  std::string title_;
};

}  // namespace ssmkit::report
