// Lightning-style metrics.csv.
#include "ssmkit/report/csv_logger_callback.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "ssmkit/io/atomic_file.h"

namespace ssmkit::report {
namespace {

std::string format_value(double value) {
  if (!std::isfinite(value)) return "";
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", value);
  return text;
}

// The step column (the second) of a row written by this class.
int64_t step_of(const std::string& row) {
  const size_t comma = row.find(',');
  return comma == std::string::npos ? -1 : std::atoll(row.c_str() + comma + 1);
}

}  // namespace

CsvLoggerCallback::CsvLoggerCallback(CsvLoggerOptions options) : options_(std::move(options)) {
  if (!options_.lr_column.empty()) options_.columns.push_back(options_.lr_column);
}

void CsvLoggerCallback::on_train_begin(const train::TrainBeginInfo& info) {
  rows_.clear();
  if (!info.resumed) return;
  // Rows up to the checkpoint's step survive; later ones were logged after it and come again.
  std::ifstream in(options_.path);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      continue;
    }
    if (!line.empty() && step_of(line) < info.global_step) rows_.push_back(line);
  }
}

void CsvLoggerCallback::on_batch_end(const train::StepInfo& info) {
  last_step_ = info.step;
  if (options_.log_every_n_steps < 1 || info.step % options_.log_every_n_steps != 0) return;
  std::map<std::string, double> values = {{"train_loss", info.loss}};
  if (!options_.lr_column.empty()) values[options_.lr_column] = info.lr;
  add_row(info.epoch - 1, info.step - 1, values);
}

void CsvLoggerCallback::on_epoch_end(const train::EpochSummary& summary) {
  epoch_index_ = summary.epoch - 1;
  std::map<std::string, double> values = summary.metrics;
  values["val_loss"] = summary.val_loss;
  values["train_loss_epoch"] = summary.train_loss;
  add_row(epoch_index_, summary.step - 1, values);
  write();
}

void CsvLoggerCallback::on_evaluation_end(const train::EvaluationResult& result) {
  if (result.phase != "test") return;
  std::map<std::string, double> values = result.metrics;
  values["test_loss"] = result.loss;
  add_row(epoch_index_, last_step_, values);
}

void CsvLoggerCallback::on_train_end(const train::TrainEndInfo& /*info*/) { write(); }

void CsvLoggerCallback::log_row(int64_t epoch, int64_t step,
                                const std::map<std::string, double>& values) {
  add_row(epoch, step, values);
  write();
}

void CsvLoggerCallback::add_row(int64_t epoch, int64_t step,
                                const std::map<std::string, double>& values) {
  std::ostringstream row;
  row << epoch << ',' << step;
  for (const std::string& column : options_.columns) {
    const auto it = values.find(column);
    row << ',' << (it == values.end() ? "" : format_value(it->second));
  }
  rows_.push_back(row.str());
}

void CsvLoggerCallback::write() const {
  std::string text = "epoch,step";
  for (const std::string& column : options_.columns) text += "," + column;
  text += "\n";
  for (const std::string& row : rows_) text += row + "\n";
  write_file_atomic(options_.path, text);
}

}  // namespace ssmkit::report
