// PNG figures of a training run, drawn with PLplot's cairo driver: training curves, a confusion
// matrix heat map, and forecasts against the truth. Files are written atomically. When ssmkit is
// built without PLplot (or its cairo driver is missing at run time) every function logs a
// warning and returns false, so callers need no #ifdef.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ssmkit/metrics/confusion_matrix.h"

namespace ssmkit::report {

// Pixel size of a figure. The defaults suit a slide or a report page.
struct PlotSize {
  int width = 1200;
  int height = 800;
};

struct CurveSeries {
  std::string name;       // legend entry, e.g. "train" or "val"
  std::vector<double> x;  // e.g. epochs
  std::vector<double> y;  // same length as x
};

// One quantity (loss, accuracy, ...) with one or more named series.
struct CurvePanel {
  std::string title;  // e.g. "loss"
  std::string x_label = "epoch";
  std::string y_label;  // e.g. "cross-entropy"
  std::vector<CurveSeries> series;
  bool log_y = false;  // logarithmic y axis (every value must then be > 0)
};

// True when this build can write PNG figures.
bool plots_available();

// Panels side by side (at most three per row), each with a legend. Non-finite points are skipped.
bool plot_training_curves(const std::string& path, const std::vector<CurvePanel>& panels,
                          const std::string& title = "", PlotSize size = {});

// Groups a per-epoch history such as {"train/loss": [...], "val/loss": [...], "val/accuracy":
// [...]} into panels: one per quantity (the part after the first '/'), with one series per split
// (the part before it); epochs are numbered from 1. A key without '/' is a panel of its own.
std::vector<CurvePanel> curve_panels_from_history(
    const std::map<std::string, std::vector<double>>& history);

// Which heat maps a confusion-matrix figure shows.
enum class ConfusionPanels { kBoth, kCounts, kFractions };

// Two heat maps side by side (or one of them, `panels`): counts, and counts divided by each row's
// total (recall on the diagonal). Rows are true classes, columns predicted ones; the numbers are
// printed in the cells when the matrix is small enough to read them. `class_names` is empty or
// one name per class.
bool plot_confusion_matrix(const std::string& path, const metrics::ConfusionMatrix& matrix,
                           const std::vector<std::string>& class_names = {},
                           const std::string& title = "", PlotSize size = {1600, 800},
                           ConfusionPanels panels = ConfusionPanels::kBoth);

// Fewer windows and channels than this would leave the figure empty, more would make it unreadable.
inline constexpr int64_t kDefaultForecastWindows = 3;
inline constexpr int64_t kDefaultForecastChannels = 3;

struct ForecastPlotOptions {
  int64_t max_windows = kDefaultForecastWindows;    // rows: windows spread over the N given
  int64_t max_channels = kDefaultForecastChannels;  // columns: the first channels
  std::vector<std::string> channel_names;           // empty or one per channel C
  std::string title;
  PlotSize size;
};

// A grid of windows x channels: the input history (time -L..-1), the true future and the
// prediction (time 0..H-1), with a legend.
bool plot_forecasts(const std::string& path,
                    const at::Tensor& history,     // (N, L, C)
                    const at::Tensor& truth,       // (N, H, C)
                    const at::Tensor& prediction,  // (N, H, C)
                    const ForecastPlotOptions& options = {});

}  // namespace ssmkit::report
