// PNG figures: valid files of the requested size, drawn with the expected colours, written
// atomically; argument checks; a clear "not written" when PLplot is absent.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>

#include "png_reader.h"
#include "ssmkit/io/error.h"
#include "ssmkit/report/plots.h"

namespace ssmkit::report {
using namespace ssmkit::metrics;
namespace {

namespace fs = std::filesystem;
using ssmkit::testing::read_png;
using ssmkit::testing::Rgb;

// Colours the figures use (tab10 blue and orange, the history gray, the darkest heat colour).
constexpr Rgb kBlue{31, 119, 180};
constexpr Rgb kOrange{255, 127, 14};
constexpr Rgb kHistoryGray{90, 90, 90};
constexpr Rgb kDarkestHeat{8, 48, 107};
constexpr Rgb kWhite{255, 255, 255};
// Antialiasing blends line edges; line centres stay within this of the pure colour.
constexpr int kTolerance = 6;

class PlotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ssmkit_plots_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Only the finished figures are left: no temporary file survives.
  void expect_only_files(std::vector<std::string> names) const {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      found.push_back(entry.path().filename().string());
    }
    std::sort(found.begin(), found.end());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(found, names);
  }

  fs::path dir_;
};

std::vector<CurvePanel> example_panels(double shift) {
  std::map<std::string, std::vector<double>> history;
  for (int epoch = 1; epoch <= 12; ++epoch) {
    history["train/loss"].push_back(2.0 * std::exp(-0.3 * epoch) + 0.1);
    history["val/loss"].push_back(2.0 * std::exp(-0.25 * epoch) + 0.2 + shift);
    history["train/accuracy"].push_back(1.0 - 0.8 * std::exp(-0.3 * epoch));
    history["val/accuracy"].push_back(1.0 - 0.8 * std::exp(-0.25 * epoch) - 0.05);
  }
  return curve_panels_from_history(history);
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(CurvePanels, GroupHistoryBySplitAndQuantity) {
  const auto panels = curve_panels_from_history({{"train/loss", {3, 2, 1}},
                                                 {"val/loss", {4, 3, 2}},
                                                 {"val/accuracy", {0.5, 0.6, 0.7}},
                                                 {"lr", {1e-3, 5e-4, 1e-4}}});
  ASSERT_EQ(panels.size(), 3u);
  EXPECT_EQ(panels[0].title, "loss");  // loss first
  ASSERT_EQ(panels[0].series.size(), 2u);
  EXPECT_EQ(panels[0].series[0].name, "train");
  EXPECT_EQ(panels[0].series[1].name, "val");
  EXPECT_EQ(panels[0].series[0].x, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(panels[0].series[1].y, (std::vector<double>{4, 3, 2}));
  std::set<std::string> others{panels[1].title, panels[2].title};
  EXPECT_EQ(others, (std::set<std::string>{"accuracy", "lr"}));
}

TEST_F(PlotsTest, TrainingCurvesArePngsOfTheRequestedSize) {
  if (!plots_available()) GTEST_SKIP() << "ssmkit was built without PLplot's cairo driver";
  ASSERT_TRUE(
      plot_training_curves(path("curves.png"), example_panels(0.0), "Training", {900, 500}));
  const auto image = read_png(path("curves.png"));
  EXPECT_EQ(image.width, 900u);
  EXPECT_EQ(image.height, 500u);
  EXPECT_GT(image.count_near(kWhite, 0), image.pixels.size() / 2);  // white background
  EXPECT_GT(image.count_near(kBlue, kTolerance), 500u);             // the train series
  EXPECT_GT(image.count_near(kOrange, kTolerance), 500u);           // the val series
  EXPECT_GT(image.distinct_colours(), 50u);                         // antialiased text, lines
  EXPECT_GT(fs::file_size(path("curves.png")), 10000u);
  // Different data draw a different picture.
  ASSERT_TRUE(
      plot_training_curves(path("shifted.png"), example_panels(0.3), "Training", {900, 500}));
  EXPECT_NE(file_bytes(path("curves.png")), file_bytes(path("shifted.png")));
  expect_only_files({"curves.png", "shifted.png"});
}

TEST_F(PlotsTest, TrainingCurvesHandleEdgeCases) {
  if (!plots_available()) GTEST_SKIP() << "ssmkit was built without PLplot's cairo driver";
  CurvePanel single{"loss", "epoch", "loss", {{"train", {1}, {0.7}}}, false};
  CurvePanel gaps{"loss", "step", "loss", {{"train", {1, 2, 3, 4}, {1.0, NAN, 0.5, 0.25}}}, true};
  CurvePanel empty{"nothing yet", "epoch", "", {}, false};
  ASSERT_TRUE(plot_training_curves(path("edge.png"), {single, gaps, empty}));
  const auto image = read_png(path("edge.png"));
  EXPECT_EQ(image.width, 1200u);  // default size
  EXPECT_EQ(image.height, 800u);
  EXPECT_GT(image.count_near(kBlue, kTolerance), 50u);
}

TEST_F(PlotsTest, ConfusionMatrixHeatMap) {
  if (!plots_available()) GTEST_SKIP() << "ssmkit was built without PLplot's cairo driver";
  ConfusionMatrix matrix(4);
  // A strong diagonal with some confusion between classes 1 and 2.
  const auto targets =
      torch::tensor({0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0, 1, 2, 3}, torch::kLong);
  const auto predictions =
      torch::tensor({0, 0, 0, 1, 2, 1, 2, 1, 2, 3, 3, 3, 0, 1, 2, 3}, torch::kLong);
  matrix.update(predictions, targets);
  ASSERT_TRUE(plot_confusion_matrix(path("cm.png"), matrix,
                                    {"T-shirt/top", "Trouser", "Pullover", "Ankle boot"},
                                    "Confusion matrix", {1000, 520}));
  const auto image = read_png(path("cm.png"));
  EXPECT_EQ(image.width, 1000u);
  EXPECT_EQ(image.height, 520u);
  // The fullest cells take the darkest colour; both panels have some.
  EXPECT_GT(image.count_near(kDarkestHeat, 2), 2000u);
  EXPECT_GT(image.distinct_colours(), 20u);
  // Names must match the classes.
  EXPECT_THROW(plot_confusion_matrix(path("bad.png"), matrix, {"a", "b"}), InputError);
  expect_only_files({"cm.png"});
}

TEST_F(PlotsTest, ForecastGrid) {
  if (!plots_available()) GTEST_SKIP() << "ssmkit was built without PLplot's cairo driver";
  const int64_t n = 5, lookback = 48, horizon = 12, channels = 4;
  const auto t = torch::arange(lookback + horizon, torch::kDouble);
  auto series = torch::empty({n, lookback + horizon, channels}, torch::kDouble);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < channels; ++c) {
      series.select(0, i).select(1, c).copy_(torch::sin(0.2 * t + static_cast<double>(i + c)));
    }
  }
  const auto history = series.slice(1, 0, lookback).to(torch::kFloat);
  const auto truth = series.slice(1, lookback).to(torch::kFloat);
  const auto prediction = truth * 0.8 + 0.1;
  ForecastPlotOptions options;
  options.max_windows = 2;
  options.max_channels = 3;
  options.channel_names = {"HUFL", "HULL", "MUFL", "OT"};
  options.title = "Forecasts";
  options.size = {1100, 700};
  ASSERT_TRUE(plot_forecasts(path("forecast.png"), history, truth, prediction, options));
  const auto image = read_png(path("forecast.png"));
  EXPECT_EQ(image.width, 1100u);
  EXPECT_EQ(image.height, 700u);
  EXPECT_GT(image.count_near(kHistoryGray, kTolerance), 1000u);
  EXPECT_GT(image.count_near(kBlue, kTolerance), 300u);
  EXPECT_GT(image.count_near(kOrange, kTolerance), 300u);
  expect_only_files({"forecast.png"});
}

TEST_F(PlotsTest, RejectsBadArguments) {
  CurvePanel mismatched{"loss", "epoch", "", {{"train", {1, 2}, {1.0}}}, false};
  EXPECT_THROW(plot_training_curves(path("x.png"), {mismatched}), InputError);
  EXPECT_THROW(plot_training_curves(path("x.png"), {}), InputError);
  EXPECT_THROW(plot_training_curves(path("x.png"), example_panels(0), "", {10, 10}), InputError);
  const auto history = torch::randn({2, 8, 3});
  EXPECT_THROW(
      plot_forecasts(path("x.png"), history, torch::randn({2, 4, 2}), torch::randn({2, 4, 2})),
      c10::Error);
  EXPECT_THROW(
      plot_forecasts(path("x.png"), history, torch::randn({2, 4, 3}), torch::randn({2, 5, 3})),
      c10::Error);
  ForecastPlotOptions names;
  names.channel_names = {"only one"};
  EXPECT_THROW(plot_forecasts(path("x.png"), history, torch::randn({2, 4, 3}),
                              torch::randn({2, 4, 3}), names),
               InputError);
  if (plots_available()) {
    // A missing folder is reported, not half-written.
    EXPECT_THROW(plot_training_curves((dir_ / "missing" / "x.png").string(), example_panels(0)),
                 InputError);
  }
  expect_only_files({});
}

TEST_F(PlotsTest, WithoutPlplotNothingIsWritten) {
  if (plots_available()) GTEST_SKIP() << "PLplot is available; this checks builds without it";
  EXPECT_FALSE(plot_training_curves(path("curves.png"), example_panels(0)));
  expect_only_files({});
}

}  // namespace
}  // namespace ssmkit::report
