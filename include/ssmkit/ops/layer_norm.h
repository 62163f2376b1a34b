// LayerNorm over the last dimension, differentiable. On CUDA, for float32 rows of a multiple of 4
// channels (at most 1024), its own kernels: one warp per row, and a backward pass that gives the
// input gradient and the weight and bias gradients in one read of the rows. LibTorch's kernels
// spend 77 µs on the forward and 236 µs on the backward (194 µs of it on the weight and bias
// gradients, in 4 thread blocks) per S4Model layer of 50,176 rows x 128 channels on an H100:
// 16% of a training step (docs/perf.md).
#pragma once

#include <ATen/core/Tensor.h>

namespace ssmkit::ops {

// y = (x - mean) / sqrt(var + eps) * weight + bias over the last dimension (biased variance).
// LibTorch's layer_norm where the kernels do not take the input (CPU, other dtypes, mixed
// dtypes under autocast, other channel counts).
at::Tensor layer_norm(const at::Tensor& x,       // (..., H)
                      const at::Tensor& weight,  // (H)
                      const at::Tensor& bias,    // (H)
                      double eps);               // -> (..., H)

}  // namespace ssmkit::ops
