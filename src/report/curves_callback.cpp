// Training curves redrawn from the trainer's log.
#include "ssmkit/report/curves_callback.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <exception>
#include <map>
#include <utility>

namespace ssmkit::report {
namespace {

void append(CurveSeries& series, double x, double y) {
  series.x.push_back(x);
  series.y.push_back(y);
}

}  // namespace

std::vector<CurvePanel> training_curve_panels(const train::TrainingLog& log) {
  CurvePanel loss;
  loss.title = "loss";
  loss.y_label = "loss";
  loss.series = {{"train", {}, {}}, {"val", {}, {}}};
  std::map<std::string, CurvePanel> metrics;  // by metric name, e.g. "val_mae"
  CurvePanel lr;
  lr.title = "learning rate";
  lr.y_label = "lr";
  lr.series = {{"lr", {}, {}}};
  for (const train::EpochSummary& epoch : log.epochs) {
    const double x = static_cast<double>(epoch.epoch);
    append(loss.series[0], x, epoch.train_loss);
    append(loss.series[1], x, epoch.val_loss);
    append(lr.series[0], x, epoch.lr);
    for (const auto& [name, value] : epoch.metrics) {
      CurvePanel& panel = metrics[name];
      if (panel.series.empty()) {
        panel.title = name;
        panel.y_label = name;
        panel.series = {{"val", {}, {}}};
      }
      append(panel.series[0], x, value);
    }
  }
  // A run without validation has no val series: leave the empty legend entry out.
  bool has_val = false;
  for (double v : loss.series[1].y)
    has_val = has_val || !std::isnan(v);
  if (!has_val) loss.series.pop_back();

  std::vector<CurvePanel> panels{std::move(loss)};
  for (auto& [name, panel] : metrics)
    panels.push_back(std::move(panel));
  panels.push_back(std::move(lr));
  return panels;
}

TrainingCurvesCallback::TrainingCurvesCallback(std::string path, const train::TrainingLog& log,
                                               std::string title)
    : path_(std::move(path)), log_(log), title_(std::move(title)) {}

void TrainingCurvesCallback::on_epoch_end(const train::EpochSummary& /*summary*/) {
  draw();
}

void TrainingCurvesCallback::on_train_end(const train::TrainEndInfo& /*info*/) {
  draw();
}

void TrainingCurvesCallback::draw() {
  if (log_.epochs.empty()) return;
  try {
    plot_training_curves(path_, training_curve_panels(log_), title_);
  } catch (const std::exception& e) {
    spdlog::warn("could not draw the training curves {}: {}", path_, e.what());
  }
}

}  // namespace ssmkit::report
