// Loading and validating prepare_data's forecasting archives.
#include "ssmkit/data/forecast_npz.h"

#include <torch/torch.h>

#include <cmath>

#include "ssmkit/data/array_tensor.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/npz.h"

namespace ssmkit::data {
namespace {

// Ranks of the window arrays: (n, L, C) and (n, H, C).
constexpr int64_t kWindowRank = 3;

std::string where(const std::string& path, const std::string& array) {
  return path + ": " + array;
}

// The float32 window array `name`, of rank 3 with at least one window.
const io::NdArray& window_array(const io::Npz& npz, const std::string& name,
                                const std::string& layout) {
  const io::NdArray& array = npz.array(name);
  array.expect(io::DType::float32, {-1, -1, -1}, where(npz.origin(), name), layout);
  if (array.size(0) == 0) {
    throw InputError(where(npz.origin(), name) + ": holds no window (shape " +
                     io::shape_to_string(array.shape()) + ")");
  }
  for (int64_t d = 1; d < kWindowRank; ++d) {
    if (array.size(d) == 0) {
      throw InputError(where(npz.origin(), name) + ": has an empty dimension (shape " +
                       io::shape_to_string(array.shape()) + ", expected " + layout + ")");
    }
  }
  return array;
}

// InputError naming the first NaN or infinite value of `array` (n, T, C) by window, step, channel.
void require_finite(const io::NdArray& array, const std::string& what) {
  const float* values = array.data<float>();
  const int64_t steps = array.size(1), channels = array.size(2);
  for (int64_t i = 0; i < array.numel(); ++i) {
    if (std::isfinite(values[i])) continue;
    const int64_t window = i / (steps * channels);
    const int64_t step = (i / channels) % steps;
    const int64_t channel = i % channels;
    throw InputError(what + ": holds a non-finite value (" + std::to_string(values[i]) +
                     ") at window " + std::to_string(window) + ", step " + std::to_string(step) +
                     ", channel " + std::to_string(channel) +
                     "; clean the series (prepare_data --fill) before training");
  }
}

std::vector<double> scaler_vector(const io::Npz& npz, const std::string& name, int64_t channels) {
  const io::NdArray& array = npz.array(name);
  if (array.dim() != 1 || array.size(0) != channels) {
    throw InputError(where(npz.origin(), name) + ": has shape " +
                     io::shape_to_string(array.shape()) + ", expected (" +
                     std::to_string(channels) + ",), one value per channel");
  }
  std::vector<double> values = array.to_vector<double>();
  for (size_t c = 0; c < values.size(); ++c) {
    if (!std::isfinite(values[c])) {
      throw InputError(where(npz.origin(), name) + ": value " + std::to_string(c) +
                       " is not finite");
    }
  }
  return values;
}

}  // namespace

const ForecastWindows& ForecastDataset::split(const std::string& name) const {
  const auto found = splits.find(name);
  if (found == splits.end()) {
    throw InputError(path + ": split '" + name + "' was not loaded");
  }
  return found->second;
}

at::Tensor ForecastDataset::to_original_units(const at::Tensor& scaled) const {
  TORCH_CHECK(scaled.defined() && scaled.dim() >= 1 && scaled.size(-1) == channels,
              "ForecastDataset::to_original_units: 'scaled' has shape ",
              scaled.defined() ? c10::str(scaled.sizes()) : std::string("undefined"),
              ", expected (..., C) with C = ", channels);
  const auto device = scaled.device();
  return scaled.to(at::kDouble) * scaler_scale.to(device) + scaler_mean.to(device);
}

ForecastDataset load_forecast_npz(const std::string& path, const std::vector<std::string>& splits) {
  TORCH_CHECK(!splits.empty(), "load_forecast_npz: no split asked for");
  const io::Npz npz = io::read_npz(path);
  ForecastDataset dataset;
  dataset.path = path;
  for (const std::string& split : splits) {
    const std::string x_name = "X_" + split, y_name = "y_" + split;
    const io::NdArray& x = window_array(npz, x_name, "(n, L, C)");
    const io::NdArray& y = window_array(npz, y_name, "(n, H, C)");
    if (y.size(0) != x.size(0) || y.size(2) != x.size(2)) {
      throw InputError(where(path, y_name) + ": has shape " + io::shape_to_string(y.shape()) +
                       ", expected (" + std::to_string(x.size(0)) + ", H, " +
                       std::to_string(x.size(2)) + ") to match " + x_name + " " +
                       io::shape_to_string(x.shape()));
    }
    if (dataset.splits.empty()) {
      dataset.input_length = x.size(1);
      dataset.forecast_length = y.size(1);
      dataset.channels = x.size(2);
    } else if (x.size(1) != dataset.input_length || y.size(1) != dataset.forecast_length ||
               x.size(2) != dataset.channels) {
      throw InputError(where(path, x_name) + ": windows of " + std::to_string(x.size(1)) + " -> " +
                       std::to_string(y.size(1)) + " steps, " + std::to_string(x.size(2)) +
                       " channels, unlike " + splits.front() + "'s " +
                       std::to_string(dataset.input_length) + " -> " +
                       std::to_string(dataset.forecast_length) + " steps, " +
                       std::to_string(dataset.channels) + " channels");
    }
    require_finite(x, where(path, x_name));
    require_finite(y, where(path, y_name));
    dataset.splits[split] = ForecastWindows{to_tensor(x), to_tensor(y)};
  }

  const std::vector<double> mean = scaler_vector(npz, "scaler_mean", dataset.channels);
  const std::vector<double> scale = scaler_vector(npz, "scaler_scale", dataset.channels);
  for (size_t c = 0; c < scale.size(); ++c) {
    if (!(scale[c] > 0)) {
      throw InputError(where(path, "scaler_scale") + ": value " + std::to_string(c) + " is " +
                       std::to_string(scale[c]) + ", expected > 0");
    }
  }
  dataset.scaler_mean = torch::tensor(mean, torch::kDouble);
  dataset.scaler_scale = torch::tensor(scale, torch::kDouble);

  if (npz.contains("columns")) {
    const io::StringArray& columns = npz.strings("columns");
    if (static_cast<int64_t>(columns.values.size()) != dataset.channels ||
        columns.shape.size() != 1) {
      throw InputError(where(path, "columns") + ": has shape " +
                       io::shape_to_string(columns.shape) + ", expected (" +
                       std::to_string(dataset.channels) + ",), one name per channel");
    }
    dataset.columns = columns.values;
  } else {
    for (int64_t c = 0; c < dataset.channels; ++c)
      dataset.columns.push_back("channel " + std::to_string(c));
  }
  return dataset;
}

}  // namespace ssmkit::data
