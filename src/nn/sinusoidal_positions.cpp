// Sinusoidal position tables and their interpolation.
#include "ssmkit/nn/sinusoidal_positions.h"

#include <torch/torch.h>

#include <cmath>

#include "ssmkit/io/error.h"

namespace ssmkit::nn {

at::Tensor sinusoidal_positions(int64_t rows, int64_t dim, const at::TensorOptions& options) {
  if (rows < 1 || dim < 1) {
    throw InputError("sinusoidal_positions: rows and dim must be positive, got " +
                     std::to_string(rows) + " and " + std::to_string(dim));
  }
  // Computed in float64 and cast: float32 sin(p w) loses digits for long tables.
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const at::Tensor position = torch::arange(rows, f64).unsqueeze(1);  // (rows, 1)
  const at::Tensor even = torch::arange(0, dim, 2, f64);               // (ceil(dim / 2))
  const at::Tensor frequency = torch::exp(even * (-std::log(10000.0) / static_cast<double>(dim)));
  const at::Tensor angle = position * frequency;  // (rows, ceil(dim / 2))
  at::Tensor table = torch::zeros({rows, dim}, f64);
  table.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, dim, 2)}, torch::sin(angle));
  table.index_put_({torch::indexing::Slice(), torch::indexing::Slice(1, dim, 2)},
                   torch::cos(angle).narrow(1, 0, dim / 2));
  return table.to(options);
}

at::Tensor resize_positions(const at::Tensor& table, int64_t rows) {
  TORCH_CHECK(table.dim() == 2, "resize_positions: table must be (R, dim)");
  if (table.size(0) == rows) return table;
  namespace F = torch::nn::functional;
  const at::Tensor resized = F::interpolate(
      table.t().unsqueeze(0),  // (1, dim, R)
      F::InterpolateFuncOptions().size(std::vector<int64_t>{rows}).mode(torch::kLinear).align_corners(false));
  return resized.squeeze(0).t().contiguous();  // (rows, dim)
}

}  // namespace ssmkit::nn
