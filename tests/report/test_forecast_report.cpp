// Forecast scoring and its files: errors on the normalised scale against a float64 reference, the
// same errors in original units through the scaler, batch-size independence, and the written
// metrics JSON, predictions archive and figure.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/io_test_helpers.h"
#include "ssmkit/io/file_bytes.h"
#include "ssmkit/io/npz.h"
#include "ssmkit/report/forecast_report.h"
#include "ssmkit/report/plots.h"

namespace ssmkit::report {
using namespace ssmkit::train;
using namespace ssmkit::metrics;
namespace {

constexpr int64_t kWindows = 7, kInput = 5, kHorizon = 3, kChannels = 2;

// The naive forecast: the last input step, repeated over the horizon.
std::unique_ptr<ModuleModel> last_value_model() {
  return std::make_unique<ModuleModel>(std::make_shared<torch::nn::Module>(),
                                       [](const at::Tensor& x) {  // (b, L, C) -> (b, H, C)
                                         return x.select(1, x.size(1) - 1)
                                             .unsqueeze(1)
                                             .expand({x.size(0), kHorizon, x.size(2)})
                                             .contiguous();
                                       });
}

data::ForecastDataset dataset() {
  data::ForecastDataset d;
  d.path = "memory.npz";
  d.splits["test"] = {torch::randn({kWindows, kInput, kChannels}),
                      torch::randn({kWindows, kHorizon, kChannels})};
  d.scaler_mean = torch::tensor({10.0, -3.0}, torch::kDouble);
  d.scaler_scale = torch::tensor({2.0, 0.5}, torch::kDouble);
  d.columns = {"a", "b"};
  d.input_length = kInput;
  d.forecast_length = kHorizon;
  d.channels = kChannels;
  return d;
}

TEST(ForecastReport, ScoresMatchAFloat64ReferenceInBothUnits) {
  const data::ForecastDataset data = dataset();
  auto model = last_value_model();
  const ForecastReport report = evaluate_forecasts(*model, data, "test", 3, torch::kCPU);
  EXPECT_EQ(report.windows, kWindows);
  const at::Tensor& x = data.split("test").inputs;
  const at::Tensor& y = data.split("test").targets;
  const at::Tensor error =  // (N, H, C)
      (x.select(1, kInput - 1).unsqueeze(1) - y).to(torch::kDouble);
  EXPECT_NEAR(report.normalized.mse, error.square().mean().item<double>(), 1e-6);
  EXPECT_NEAR(report.normalized.mae, error.abs().mean().item<double>(), 1e-6);
  const double scale[kChannels] = {2.0, 0.5};
  for (int64_t c = 0; c < kChannels; ++c) {
    const at::Tensor e = error.select(2, c);
    EXPECT_NEAR(report.normalized.mse_per_channel[c], e.square().mean().item<double>(), 1e-6);
    EXPECT_NEAR(report.original.mse_per_channel[c],
                scale[c] * scale[c] * report.normalized.mse_per_channel[c], 1e-5);
    EXPECT_NEAR(report.original.mae_per_channel[c], scale[c] * report.normalized.mae_per_channel[c],
                1e-5);
  }
  // The batch size changes nothing.
  const ForecastReport whole = evaluate_forecasts(*model, data, "test", 100, torch::kCPU);
  EXPECT_TRUE(torch::equal(whole.predictions, report.predictions));
  EXPECT_THROW(evaluate_forecasts(*model, data, "val", 3, torch::kCPU), InputError);
  EXPECT_THROW(data.to_original_units(torch::zeros({2, 3})), c10::Error);
}

TEST(ForecastReport, WritesMetricsPredictionsAndFigure) {
  testing::TempDir dir;
  const data::ForecastDataset data = dataset();
  auto model = last_value_model();
  const ForecastReport report = evaluate_forecasts(*model, data, "test", 4, torch::kCPU);
  const std::string folder = dir.file("out/nested");
  const ForecastOutputFiles files =
      write_forecast_outputs(folder, report, data, {{"checkpoint", "best.pt"}});

  const auto metrics = nlohmann::json::parse(io::read_file_bytes(files.metrics));
  EXPECT_EQ(metrics.at("checkpoint"), "best.pt");
  EXPECT_EQ(metrics.at("windows"), kWindows);
  EXPECT_EQ(metrics.at("channels"), nlohmann::json({"a", "b"}));
  EXPECT_DOUBLE_EQ(metrics.at("normalized").at("mse").get<double>(), report.normalized.mse);
  EXPECT_DOUBLE_EQ(metrics.at("original").at("per_channel").at("b").at("mae").get<double>(),
                   report.original.mae_per_channel[1]);

  const io::Npz npz = io::read_npz(files.predictions);
  EXPECT_EQ(npz.array("predictions").shape(),
            (std::vector<int64_t>{kWindows, kHorizon, kChannels}));
  const auto scaled = npz.array("predictions").to_vector<float>();
  const auto original = npz.array("predictions_original").to_vector<float>();
  for (size_t i = 0; i < scaled.size(); ++i) {
    const size_t c = i % kChannels;
    EXPECT_NEAR(original[i], scaled[i] * (c == 0 ? 2.0 : 0.5) + (c == 0 ? 10.0 : -3.0), 1e-5);
  }
  EXPECT_EQ(files.plot.empty(), !plots_available());
  if (!files.plot.empty()) {
    EXPECT_GT(std::filesystem::file_size(files.plot), 1000u);
  }
  // Nothing but the three outputs: no temporary files left behind.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(folder))
    ++entries;
  EXPECT_EQ(entries, plots_available() ? 3u : 2u);
}

}  // namespace
}  // namespace ssmkit::report
