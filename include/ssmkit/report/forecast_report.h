// Scores a trained forecaster on one split of a prepare_data archive, on the normalised scale (the
// archive's units, what the literature reports) and in the series' original units (through the
// archive's scaler), and writes the results: a JSON metrics file, a PNG of forecasts against the
// truth, and the predictions as .npz. Shared by the end of training and the stand-alone forecast
// mode of the programs.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "ssmkit/data/forecast_npz.h"
#include "ssmkit/train/trainable_model.h"

namespace ssmkit::report {

struct ForecastScores {
  double mse = 0;
  double mae = 0;
  std::vector<double> mse_per_channel;  // (C)
  std::vector<double> mae_per_channel;  // (C)
};

struct ForecastReport {
  std::string split;  // e.g. "test"
  int64_t windows = 0;
  ForecastScores normalized;  // against the archive's scaled targets
  ForecastScores original;    // both sides mapped back through the scaler
  at::Tensor predictions;     // (N, H, C) float32 on the CPU, scaled like the archive
};

// The model's forecasts for every window, in evaluation mode without gradients, `batch_size`
// windows at a time on `device`; returned on the CPU. The model is left in evaluation mode.
at::Tensor predict_windows(train::TrainableModel& model,
                           const at::Tensor& inputs,  // (N, L, C)
                           int64_t batch_size, const c10::Device& device);

// Forecasts and scores split `split` of `data`.
ForecastReport evaluate_forecasts(train::TrainableModel& model, const data::ForecastDataset& data,
                                  const std::string& split, int64_t batch_size,
                                  const c10::Device& device);

// {"split", "windows", "input_length", "forecast_length", "channels": [names],
//  "normalized": {"mse", "mae", "per_channel": {"<name>": {"mse", "mae"}}}, "original": {...}}
nlohmann::json to_json(const ForecastReport& report, const data::ForecastDataset& data);

struct ForecastOutputFiles {
  std::string metrics;      // <folder>/forecast_metrics.json
  std::string plot;         // <folder>/forecasts.png, empty when this build cannot plot
  std::string predictions;  // <folder>/predictions.npz
};

// Writes the report into `folder` (created when missing), each file atomically: the metrics JSON
// (to_json plus the members of `context`, e.g. the checkpoint and data paths), a figure of a few
// windows and channels in original units, and predictions.npz holding "predictions" (N, H, C)
// scaled and "predictions_original" (N, H, C) in original units, float32.
ForecastOutputFiles write_forecast_outputs(const std::string& folder, const ForecastReport& report,
                                           const data::ForecastDataset& data,
                                           const nlohmann::json& context);

}  // namespace ssmkit::report
