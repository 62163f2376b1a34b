// Public plotting API: validates the data, converts tensors to plain values and hands them to
// the PLplot renderer (plot_render.cpp).
#include "ssmkit/report/plots.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "plot_render.h"
#include "ssmkit/io/error.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::report {
namespace {

// PNG dimensions PLplot and viewers handle comfortably; larger is almost certainly a mistake.
constexpr int kMinPixels = 64;
constexpr int kMaxPixels = 16384;

void check_size(PlotSize size, const char* fn) {
  if (size.width < kMinPixels || size.height < kMinPixels || size.width > kMaxPixels ||
      size.height > kMaxPixels) {
    throw InputError(std::string(fn) + ": figure size " + std::to_string(size.width) + " x " +
                     std::to_string(size.height) + " pixels, expected " +
                     std::to_string(kMinPixels) + " to " + std::to_string(kMaxPixels) +
                     " on each side");
  }
}

void check_path(const std::string& path, const char* fn) {
  if (path.empty()) throw InputError(std::string(fn) + ": the output path is empty");
}

std::vector<double> column(const at::Tensor& values) {  // (T) float64 contiguous on the CPU
  const double* data = values.data_ptr<double>();
  return std::vector<double>(data, data + values.numel());
}

}  // namespace

bool plots_available() {
  return render::available();
}

bool plot_training_curves(const std::string& path, const std::vector<CurvePanel>& panels,
                          const std::string& title, PlotSize size) {
  const char* fn = "plot_training_curves";
  check_path(path, fn);
  check_size(size, fn);
  if (panels.empty()) throw InputError(std::string(fn) + ": no panels to draw");
  for (const auto& panel : panels) {
    for (const auto& series : panel.series) {
      if (series.x.size() != series.y.size()) {
        throw InputError(std::string(fn) + ": series '" + series.name + "' of panel '" +
                         panel.title + "' has " + std::to_string(series.x.size()) +
                         " x values but " + std::to_string(series.y.size()) + " y values");
      }
    }
  }
  return render::training_curves(path, panels, title, size);
}

std::vector<CurvePanel> curve_panels_from_history(
    const std::map<std::string, std::vector<double>>& history) {
  std::vector<CurvePanel> panels;
  const auto panel_for = [&](const std::string& quantity) -> CurvePanel& {
    for (auto& panel : panels) {
      if (panel.title == quantity) return panel;
    }
    CurvePanel panel;
    panel.title = quantity;
    panel.y_label = quantity;
    panels.push_back(std::move(panel));
    return panels.back();
  };
  for (const auto& [key, values] : history) {
    const auto slash = key.find('/');
    const std::string quantity = slash == std::string::npos ? key : key.substr(slash + 1);
    const std::string split = slash == std::string::npos ? key : key.substr(0, slash);
    CurveSeries series;
    series.name = split;
    series.y = values;
    for (size_t epoch = 1; epoch <= values.size(); ++epoch) {
      series.x.push_back(static_cast<double>(epoch));
    }
    panel_for(quantity).series.push_back(std::move(series));
  }
  // Loss first: it is what people look at first.
  std::stable_partition(panels.begin(), panels.end(),
                        [](const CurvePanel& panel) { return panel.title == "loss"; });
  return panels;
}

bool plot_confusion_matrix(const std::string& path, const metrics::ConfusionMatrix& matrix,
                           const std::vector<std::string>& class_names, const std::string& title,
                           PlotSize size, ConfusionPanels panels) {
  const char* fn = "plot_confusion_matrix";
  check_path(path, fn);
  check_size(size, fn);
  const int64_t k = matrix.num_classes();
  std::vector<std::string> names = class_names;
  if (names.empty()) {
    for (int64_t c = 0; c < k; ++c)
      names.push_back(std::to_string(c));
  } else if (static_cast<int64_t>(names.size()) != k) {
    throw InputError(std::string(fn) + ": " + std::to_string(names.size()) +
                     " class names given for " + std::to_string(k) + " classes");
  }
  std::vector<int64_t> counts;
  counts.reserve(static_cast<size_t>(k * k));
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < k; ++j)
      counts.push_back(matrix.count(i, j));
  }
  return render::confusion_matrix(path, k, counts, names, title, size, panels);
}

bool plot_forecasts(const std::string& path, const at::Tensor& history, const at::Tensor& truth,
                    const at::Tensor& prediction, const ForecastPlotOptions& options) {
  const char* fn = "plot_forecasts";
  check_path(path, fn);
  check_size(options.size, fn);
  check_shape(history, fn, "history", "(N, L, C)", {-1, -1, -1});
  const int64_t n = history.size(0);
  const int64_t channels = history.size(2);
  check_shape(truth, fn, "truth", "(N, H, C)", {n, -1, channels});
  check_shape(prediction, fn, "prediction", "(N, H, C)", {n, truth.size(1), channels});
  TORCH_CHECK(n > 0 && channels > 0 && truth.size(1) > 0, fn,
              ": nothing to draw ('truth' has shape ", shape_string(truth.sizes()), ")");
  if (options.max_windows < 1 || options.max_channels < 1) {
    throw InputError(std::string(fn) + ": max_windows and max_channels must be at least 1");
  }
  if (!options.channel_names.empty() &&
      static_cast<int64_t>(options.channel_names.size()) != channels) {
    throw InputError(std::string(fn) + ": " + std::to_string(options.channel_names.size()) +
                     " channel names given for " + std::to_string(channels) + " channels");
  }
  const int64_t rows = std::min(n, options.max_windows);
  const int64_t columns = std::min(channels, options.max_channels);
  const auto to_cpu = [](const at::Tensor& t) { return t.detach().to(at::kCPU, at::kDouble); };
  const auto history_cpu = to_cpu(history);
  const auto truth_cpu = to_cpu(truth);
  const auto prediction_cpu = to_cpu(prediction);
  std::vector<render::ForecastPanel> panels;
  for (int64_t r = 0; r < rows; ++r) {
    // Windows spread evenly over the N given, first and last included.
    const int64_t window = rows == 1 ? 0
                                     : static_cast<int64_t>(std::llround(
                                           static_cast<double>(r) * static_cast<double>(n - 1) /
                                           static_cast<double>(rows - 1)));
    for (int64_t c = 0; c < columns; ++c) {
      render::ForecastPanel panel;
      const auto channel_name = options.channel_names.empty()
                                    ? "channel " + std::to_string(c)
                                    : options.channel_names[static_cast<size_t>(c)];
      panel.title = "window " + std::to_string(window) + ", " + channel_name;
      panel.history = column(history_cpu.select(0, window).select(1, c).contiguous());
      panel.truth = column(truth_cpu.select(0, window).select(1, c).contiguous());
      panel.prediction = column(prediction_cpu.select(0, window).select(1, c).contiguous());
      panels.push_back(std::move(panel));
    }
  }
  return render::forecasts(path, rows, columns, panels, options.title, options.size);
}

}  // namespace ssmkit::report
