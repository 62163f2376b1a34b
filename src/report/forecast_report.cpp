// Forecast scoring and its output files.
#include "ssmkit/report/forecast_report.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "ssmkit/data/array_tensor.h"
#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/npz.h"
#include "ssmkit/metrics/metrics.h"
#include "ssmkit/report/plots.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::report {
namespace {

constexpr const char* kMetricsFile = "forecast_metrics.json";
constexpr const char* kPlotFile = "forecasts.png";
constexpr const char* kPredictionsFile = "predictions.npz";
// Readable JSON for people opening the file.
constexpr int kJsonIndent = 2;

ForecastScores score(const at::Tensor& predictions,  // (N, H, C)
                     const at::Tensor& targets) {    // (N, H, C)
  ForecastScores s;
  s.mse = metrics::mean_squared_error(predictions, targets);
  s.mae = metrics::mean_absolute_error(predictions, targets);
  s.mse_per_channel = metrics::mean_squared_error_per_channel(predictions, targets);
  s.mae_per_channel = metrics::mean_absolute_error_per_channel(predictions, targets);
  return s;
}

nlohmann::json to_json(const ForecastScores& s, const std::vector<std::string>& columns) {
  nlohmann::json per_channel = nlohmann::json::object();
  for (size_t c = 0; c < columns.size(); ++c) {
    per_channel[columns[c]] = {{"mse", s.mse_per_channel[c]}, {"mae", s.mae_per_channel[c]}};
  }
  return {{"mse", s.mse}, {"mae", s.mae}, {"per_channel", per_channel}};
}

// Up to `count` of `n` indices spread evenly, first and last included (the target column of an
// LTSF file, e.g. ETT's OT, is usually the last one).
std::vector<int64_t> spread_indices(int64_t n, int64_t count) {
  const int64_t k = std::min(n, count);
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < k; ++i) {
    indices.push_back(k == 1 ? 0
                             : static_cast<int64_t>(std::llround(static_cast<double>(i) *
                                                                 static_cast<double>(n - 1) /
                                                                 static_cast<double>(k - 1))));
  }
  return indices;
}

}  // namespace

at::Tensor predict_windows(train::TrainableModel& model, const at::Tensor& inputs, int64_t batch_size,
                           const c10::Device& device) {
  const char* fn = "predict_windows";
  check_rank(inputs, fn, "inputs", "(N, L, C)", 3);
  TORCH_CHECK(batch_size > 0, fn, ": batch_size is ", batch_size, ", expected > 0");
  model.train(false);
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> outputs;
  for (int64_t start = 0; start < inputs.size(0); start += batch_size) {
    const int64_t size = std::min(batch_size, inputs.size(0) - start);
    const at::Tensor batch = inputs.narrow(0, start, size).to(device);  // (b, L, C)
    outputs.push_back(model.forward(batch).to(at::kCPU, at::kFloat));   // (b, H, C)
  }
  TORCH_CHECK(!outputs.empty(), fn, ": 'inputs' holds no window");
  return torch::cat(outputs, 0);
}

ForecastReport evaluate_forecasts(train::TrainableModel& model, const data::ForecastDataset& data,
                                  const std::string& split, int64_t batch_size,
                                  const c10::Device& device) {
  const data::ForecastWindows& windows = data.split(split);
  ForecastReport report;
  report.split = split;
  report.windows = windows.size();
  report.predictions = predict_windows(model, windows.inputs, batch_size, device);
  check_shape(report.predictions, "evaluate_forecasts", "predictions", "(N, H, C)",
              {windows.size(), data.forecast_length, data.channels});
  report.normalized = score(report.predictions, windows.targets);
  report.original =
      score(data.to_original_units(report.predictions), data.to_original_units(windows.targets));
  return report;
}

nlohmann::json to_json(const ForecastReport& report, const data::ForecastDataset& data) {
  return {{"dataset", data.path},
          {"split", report.split},
          {"windows", report.windows},
          {"input_length", data.input_length},
          {"forecast_length", data.forecast_length},
          {"channels", data.columns},
          {"normalized", to_json(report.normalized, data.columns)},
          {"original", to_json(report.original, data.columns)}};
}

ForecastOutputFiles write_forecast_outputs(const std::string& folder, const ForecastReport& report,
                                           const data::ForecastDataset& data,
                                           const nlohmann::json& context) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) throw InputError(folder + ": cannot create the folder (" + error.message() + ")");
  ForecastOutputFiles files;
  const auto path = [&](const char* name) { return (fs::path(folder) / name).string(); };

  nlohmann::json metrics = to_json(report, data);
  for (const auto& [key, value] : context.items())
    metrics[key] = value;
  files.metrics = path(kMetricsFile);
  write_file_atomic(files.metrics, metrics.dump(kJsonIndent) + "\n");

  const data::ForecastWindows& windows = data.split(report.split);
  const at::Tensor original = data.to_original_units(report.predictions);  // (N, H, C)
  io::Npz npz;
  npz.set("predictions", data::to_array(report.predictions));
  npz.set("predictions_original", data::to_array(original.to(at::kFloat)));
  files.predictions = path(kPredictionsFile);
  io::write_npz(files.predictions, npz);

  if (plots_available()) {
    const std::vector<int64_t> shown = spread_indices(data.channels, kDefaultForecastChannels);
    const at::Tensor channels = torch::tensor(shown, torch::kLong);
    ForecastPlotOptions options;
    for (int64_t c : shown)
      options.channel_names.push_back(data.columns[static_cast<size_t>(c)]);
    options.title = "forecasts on " + report.split + " (original units)";
    const auto pick = [&](const at::Tensor& t) { return t.index_select(2, channels); };
    if (plot_forecasts(path(kPlotFile), pick(data.to_original_units(windows.inputs)),
                       pick(data.to_original_units(windows.targets)), pick(original), options)) {
      files.plot = path(kPlotFile);
    }
  }
  return files;
}

}  // namespace ssmkit::report
