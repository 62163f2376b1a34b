// LayerNorm over the last dimension, differentiable, whose weight and bias gradients are column
// sums over all rows. LibTorch's CUDA kernel for those two gradients gives each block 32 channels
// and walks every row in it: for S4Model's 50,176 rows (64 sequences of 784 steps) and 128
// channels that is 4 blocks and 194 µs a layer on an H100, 11% of a training step
// (docs/perf.md). A sum over rows spreads the rows over the whole GPU.
#pragma once

#include <ATen/core/Tensor.h>

namespace ssmkit::ops {

// y = (x - mean) / sqrt(var + eps) * weight + bias over the last dimension (biased variance).
// On CUDA, with x in the parameters' dtype, the weight and bias gradients are column sums
// (layer_norm_column_sum_gradients); otherwise it is LibTorch's layer_norm.
at::Tensor layer_norm(const at::Tensor& x,       // (..., H)
                      const at::Tensor& weight,  // (H)
                      const at::Tensor& bias,    // (H)
                      double eps);               // -> (..., H)

// The same on any device with the column-sum gradients (what CUDA uses; the CPU tests hold it to
// LibTorch's layer_norm).
at::Tensor layer_norm_column_sum_gradients(const at::Tensor& x,       // (..., H)
                                           const at::Tensor& weight,  // (H)
                                           const at::Tensor& bias,    // (H)
                                           double eps);               // -> (..., H)

}  // namespace ssmkit::ops
