// Fixed sinusoidal position codes (Vaswani et al. 2017): row p holds sin(p w_i) in the even and
// cos(p w_i) in the odd features, w_i = 10000^(-2i / dim). Nothing is learned, so a table of any
// length can be computed; resize_positions() stretches a table to another length as ViTMAE does
// when a sequence is longer than the positions the model was built for.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <cstdint>

namespace ssmkit::nn {

// Positions 0 .. rows-1.
at::Tensor sinusoidal_positions(int64_t rows, int64_t dim,
                                const at::TensorOptions& options);  // -> (rows, dim)

// Linear interpolation of `table` along its rows to `rows` rows (align_corners false, as
// torch.nn.functional.interpolate); the table itself when the lengths agree.
at::Tensor resize_positions(const at::Tensor& table,  // (R, dim)
                            int64_t rows);            // -> (rows, dim)

}  // namespace ssmkit::nn
