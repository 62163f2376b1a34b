// Image grids as PNG.
#include "ssmkit/report/image_grid.h"

#include <torch/torch.h>

#include "plot_render.h"
#include "ssmkit/io/error.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::report {

bool plot_image_grid(const std::string& path, const at::Tensor& images,
                     const std::vector<std::string>& titles, const std::vector<bool>& marked,
                     int64_t columns, const std::string& title, PlotSize size) {
  const char* fn = "plot_image_grid";
  check_rank(images, fn, "images", "(N, C, H, W)", 4);
  const int64_t n = images.size(0), channels = images.size(1);
  if (channels != 1 && channels != 3) {
    throw InputError(std::string(fn) + ": images have " + std::to_string(channels) +
                     " channels, expected 1 or 3");
  }
  if (n < 1 || static_cast<int64_t>(titles.size()) != n ||
      static_cast<int64_t>(marked.size()) != n || columns < 1) {
    throw InputError(std::string(fn) + ": " + std::to_string(n) +
                     " images need as many titles "
                     "and marks, and at least one column");
  }
  // (N, H, W, 3) bytes, grey repeated into the three channels.
  const at::Tensor rgb = images.to(torch::kUInt8)
                             .expand({n, 3, images.size(2), images.size(3)})
                             .permute({0, 2, 3, 1})
                             .contiguous()
                             .cpu();
  std::vector<render::ImagePanel> panels;
  for (int64_t i = 0; i < n; ++i) {
    render::ImagePanel panel;
    panel.title = titles[static_cast<size_t>(i)];
    panel.height = images.size(2);
    panel.width = images.size(3);
    const uint8_t* begin = rgb[i].data_ptr<uint8_t>();
    panel.rgb.assign(begin, begin + panel.height * panel.width * 3);
    panel.marked = marked[static_cast<size_t>(i)];
    panels.push_back(std::move(panel));
  }
  return render::image_grid(path, columns, panels, title, size);
}

}  // namespace ssmkit::report
