// Training-curve panels from a run's log (loss with train and val, one panel per validation
// metric, the learning rate) and the callback that redraws them at each epoch end.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/io_test_helpers.h"
#include "ssmkit/report/curves_callback.h"

namespace ssmkit::report {
using namespace ssmkit::train;
using namespace ssmkit::metrics;
namespace {

EpochSummary epoch(int64_t n, double train, double val, double lr) {
  EpochSummary s;
  s.epoch = n;
  s.train_loss = train;
  s.val_loss = val;
  s.lr = lr;
  s.metrics = {{"val_mse", val * 2}, {"val_mae", val / 2}};
  return s;
}

TEST(CurvesCallback, PanelsFollowTheLog) {
  TrainingLog log;
  log.epochs = {epoch(3, 1.0, 0.8, 1e-3), epoch(4, 0.7, 0.6, 5e-4)};  // a resumed run's epochs
  const std::vector<CurvePanel> panels = training_curve_panels(log);
  ASSERT_EQ(panels.size(), 4u);
  EXPECT_EQ(panels[0].title, "loss");
  ASSERT_EQ(panels[0].series.size(), 2u);
  EXPECT_EQ(panels[0].series[0].name, "train");
  EXPECT_EQ(panels[0].series[0].x, (std::vector<double>{3, 4}));
  EXPECT_EQ(panels[0].series[1].y, (std::vector<double>{0.8, 0.6}));
  EXPECT_EQ(panels[1].title, "val_mae");
  EXPECT_EQ(panels[1].series[0].y, (std::vector<double>{0.4, 0.3}));
  EXPECT_EQ(panels[2].title, "val_mse");
  EXPECT_EQ(panels[3].title, "learning rate");
  EXPECT_EQ(panels[3].series[0].y, (std::vector<double>{1e-3, 5e-4}));

  // Without validation the loss panel holds the training series alone.
  TrainingLog train_only;
  EpochSummary s;
  s.epoch = 1;
  s.train_loss = 0.5;
  s.lr = 1e-3;
  train_only.epochs = {s};
  EXPECT_EQ(training_curve_panels(train_only)[0].series.size(), 1u);
  EXPECT_EQ(training_curve_panels(train_only).size(), 2u);
}

TEST(CurvesCallback, RedrawsAtEpochEndWhenPlotsAreAvailable) {
  testing::TempDir dir;
  TrainingLog log;
  TrainingCurvesCallback callback(dir.file("curves.png"), log, "run");
  callback.on_train_end({});  // nothing logged yet: no figure
  EXPECT_FALSE(std::filesystem::exists(dir.file("curves.png")));
  log.epochs.push_back(epoch(1, 1.0, 0.9, 1e-3));
  callback.on_epoch_end(log.epochs.back());
  EXPECT_EQ(std::filesystem::exists(dir.file("curves.png")), plots_available());
}

}  // namespace
}  // namespace ssmkit::report
