// TensorBoard logging of the training loop.
#include "ssmkit/report/tensorboard_callback.h"

#include <c10/util/Exception.h>

#include <cmath>

namespace ssmkit::report {
namespace {

// Splits a "<phase>_<metric>" name into its metric part ("val_mae" -> "mae").
std::string metric_part(const std::string& name, const std::string& phase) {
  const std::string prefix = phase + "_";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

}  // namespace

TensorBoardCallback::TensorBoardCallback(const std::string& log_dir,
                                         TensorBoardCallbackOptions options)
    : options_(options), writer_(std::make_unique<TensorBoardWriter>(log_dir)) {
  TORCH_CHECK(options_.log_every_steps >= 1, "TensorBoardCallback: log_every_steps is ",
              options_.log_every_steps, ", expected >= 1");
}

void TensorBoardCallback::on_train_begin(const train::TrainBeginInfo& info) {
  last_epoch_ = info.first_epoch - 1;
}

void TensorBoardCallback::on_batch_end(const train::StepInfo& info) {
  if (info.step % options_.log_every_steps != 0) return;
  writer_->add_scalar("train/loss", info.loss, info.step);
  writer_->add_scalar("train/lr", info.lr, info.step);
  writer_->add_scalar("train/grad_norm", info.grad_norm, info.step);
}

void TensorBoardCallback::on_epoch_end(const train::EpochSummary& summary) {
  const int64_t epoch = summary.epoch;
  last_epoch_ = epoch;
  writer_->add_scalar("epoch/train_loss", summary.train_loss, epoch);
  if (!std::isnan(summary.val_loss)) writer_->add_scalar("epoch/val_loss", summary.val_loss, epoch);
  for (const auto& [name, value] : summary.metrics)
    writer_->add_scalar("epoch/" + name, value, epoch);
  writer_->add_scalar("epoch/lr", summary.lr, epoch);
  writer_->add_scalar("epoch/seconds", summary.seconds, epoch);
  if (options_.weight_norms) {
    for (const auto& weights : summary.weights)
      writer_->add_scalar("weight_norm/" + weights.name, weights.norm, epoch);
  }
  writer_->flush();
}

void TensorBoardCallback::on_evaluation_end(const train::EvaluationResult& result) {
  // Validation passes are logged with their epoch's summary.
  if (result.phase == "val") return;
  writer_->add_scalar(result.phase + "/loss", result.loss, last_epoch_);
  for (const auto& [name, value] : result.metrics)
    writer_->add_scalar(result.phase + "/" + metric_part(name, result.phase), value, last_epoch_);
}

void TensorBoardCallback::on_train_end(const train::TrainEndInfo& /*info*/) {
  writer_->flush();
}

}  // namespace ssmkit::report
