// Drawing of the figures declared in ssmkit/report/plots.h, on plain data already validated by
// plots.cpp. Everything PLplot-specific lives behind this header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ssmkit/report/plots.h"

namespace ssmkit::report::render {

struct ForecastPanel {
  std::string title;
  std::vector<double> history;     // (L) observed values before the forecast
  std::vector<double> truth;       // (H) what happened
  std::vector<double> prediction;  // (H) what the model said
};

struct ImagePanel {
  std::string title;  // e.g. "true: Coat\npred: Shirt"
  int64_t height = 0, width = 0;
  std::vector<uint8_t> rgb;  // (height * width * 3), row-major, top row first
  bool marked = false;       // drawn with a red frame and title (a wrong prediction)
};

// False when no PNG can be written (no PLplot, or no cairo driver).
bool available();

bool training_curves(const std::string& path, const std::vector<CurvePanel>& panels,
                     const std::string& title, PlotSize size);

bool confusion_matrix(const std::string& path, int64_t num_classes,
                      const std::vector<int64_t>& counts,  // (K * K) row-major, rows = truth
                      const std::vector<std::string>& names, const std::string& title,
                      PlotSize size, ConfusionPanels panels);

// `panels` fill a rows x columns grid row by row.
bool forecasts(const std::string& path, int64_t rows, int64_t columns,
               const std::vector<ForecastPanel>& panels, const std::string& title, PlotSize size);

// `panels` fill a grid of `columns` row by row, each image with its title above it.
bool image_grid(const std::string& path, int64_t columns, const std::vector<ImagePanel>& panels,
                const std::string& title, PlotSize size);

}  // namespace ssmkit::report::render
