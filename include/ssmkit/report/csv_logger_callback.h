// metrics.csv as Lightning's CSVLogger writes it: a header of "epoch", "step" and the metric names,
// then one row per logged training step (every log_every_n_steps) and one per epoch (validation
// values and the epoch's mean training loss, "train_loss_epoch"), and one for a test pass; a cell
// is empty where a row has no value. Epochs and steps count from 0 as in Lightning. The file is
// rewritten atomically after each epoch; a resumed run keeps the rows of the steps it resumes from.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ssmkit/train/callback.h"

namespace ssmkit::report {

struct CsvLoggerOptions {
  std::string path;                // the metrics.csv to write
  std::vector<std::string> columns;  // metric columns after epoch and step
  int64_t log_every_n_steps = 50;  // Lightning's default
  // Column of the learning rate per logged step (Lightning's LearningRateMonitor names it
  // "lr-<Optimizer>"); empty: not logged.
  std::string lr_column;
};

class CsvLoggerCallback : public train::Callback {
 public:
  explicit CsvLoggerCallback(CsvLoggerOptions options);

  void on_train_begin(const train::TrainBeginInfo& info) override;
  void on_batch_end(const train::StepInfo& info) override;
  void on_epoch_end(const train::EpochSummary& summary) override;
  void on_evaluation_end(const train::EvaluationResult& result) override;
  void on_train_end(const train::TrainEndInfo& info) override;

  // Adds one row now (e.g. the test metrics of a stand-alone test run) and writes the file.
  void log_row(int64_t epoch, int64_t step, const std::map<std::string, double>& values);

 private:
  void add_row(int64_t epoch, int64_t step, const std::map<std::string, double>& values);
  void write() const;

  CsvLoggerOptions options_;
  std::vector<std::string> rows_;  // formatted lines without the header
  int64_t epoch_index_ = 0;        // of the latest epoch (0-based), for a test row
  int64_t last_step_ = 0;
};

}  // namespace ssmkit::report
