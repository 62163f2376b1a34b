// Forecasting windows from the .npz that prepare_data writes (docs/data.md): X_<split> (n, L, C)
// and y_<split> (n, H, C) float32, the scaler (scaler_mean, scaler_scale) and the column names,
// validated so that a wrong or damaged file fails with one message naming the file and the array.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ssmkit::data {

struct ForecastWindows {
  at::Tensor inputs;   // (n, L, C) float32, scaled
  at::Tensor targets;  // (n, H, C) float32, scaled

  int64_t size() const { return inputs.size(0); }
};

struct ForecastDataset {
  std::string path;                               // the .npz it came from
  std::map<std::string, ForecastWindows> splits;  // "train", "val", "test": those asked for
  at::Tensor scaler_mean;                         // (C) float64
  at::Tensor scaler_scale;                        // (C) float64, > 0
  std::vector<std::string> columns;               // C names ("channel <i>" when the file has none)
  int64_t input_length = 0;                       // L
  int64_t forecast_length = 0;                    // H
  int64_t channels = 0;                           // C

  // The windows of `name`; InputError naming the file when it was not loaded.
  const ForecastWindows& split(const std::string& name) const;
  // Back to the units of the original series: scaled * scaler_scale + scaler_mean, in float64.
  at::Tensor to_original_units(const at::Tensor& scaled) const;  // (..., C) -> (..., C) float64
};

// Loads the splits named in `splits` (e.g. {"train", "val"}) from `path`. Throws InputError
// "<path>: <array>: <problem>" when the file is missing or not an archive, an array is missing,
// has the wrong dtype or rank, the splits disagree on L, H or C, a split holds no window, a value
// is NaN or infinite (with its window, step and channel), or the scaler has the wrong length or a
// scale that is not positive.
ForecastDataset load_forecast_npz(const std::string& path, const std::vector<std::string>& splits);

}  // namespace ssmkit::data
