// A PNG grid of images with a two-line title each (e.g. a classifier's sample predictions: true
// and predicted class, the wrong ones framed and titled in red), drawn with PLplot as plots.h's
// figures; false (and a warning) where plots are unavailable.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ssmkit/report/plots.h"

namespace ssmkit::report {

// images (N, C, H, W) uint8 with C = 1 (grey) or 3 (RGB); `titles` and `marked` one per image.
bool plot_image_grid(const std::string& path, const at::Tensor& images,
                     const std::vector<std::string>& titles, const std::vector<bool>& marked,
                     int64_t columns, const std::string& title = "", PlotSize size = {1200, 1200});

}  // namespace ssmkit::report
