// metrics.jsonl records from the Trainer's callbacks.
#include "ssmkit/report/metrics_stream_callback.h"

#include <filesystem>

#include "ssmkit/train/training_log.h"

namespace ssmkit::report {
namespace {

constexpr const char* kMetricsStreamFile = "metrics.jsonl";

nlohmann::json weights_record(int64_t epoch, int64_t step,
                              const std::vector<metrics::ParameterStatistics>& weights) {
  return {{"type", "weights"},
          {"epoch", epoch},
          {"step", step},
          {"weights", metrics::to_json(weights)}};
}

}  // namespace

void MetricsStreamCallback::on_train_begin(const train::TrainBeginInfo& info) {
  step_ = info.global_step;
  if (info.run_dir.empty()) return;
  const std::string path = (std::filesystem::path(info.run_dir) / kMetricsStreamFile).string();
  stream_ = std::make_unique<MetricsStream>(
      info.resumed ? MetricsStream::resume(path, info.global_step) : MetricsStream::create(path));
}

void MetricsStreamCallback::on_batch_end(const train::StepInfo& info) {
  step_ = info.step;
  if (!stream_) return;
  stream_->write({{"type", "batch"},
                  {"epoch", info.epoch},
                  {"step", info.step},
                  {"loss", info.loss},
                  {"lr", info.lr},
                  {"grad_norm", info.grad_norm},
                  {"batch_size", info.batch_size}});
  if (info.weights != nullptr) stream_->write(weights_record(info.epoch, info.step, *info.weights));
}

void MetricsStreamCallback::on_epoch_end(const train::EpochSummary& summary) {
  step_ = summary.step;
  if (!stream_) return;
  nlohmann::json record = train::to_json(summary);
  record["type"] = "epoch";
  stream_->write(record);
  stream_->write(weights_record(summary.epoch, summary.step, summary.weights));
}

void MetricsStreamCallback::on_evaluation_end(const train::EvaluationResult& result) {
  // Validation passes are in the epoch records; the test pass gets its own.
  if (!stream_ || result.phase != "test") return;
  nlohmann::json record = train::to_json(result);
  record["type"] = "eval";
  record["step"] = step_;
  stream_->write(record);
}

}  // namespace ssmkit::report
