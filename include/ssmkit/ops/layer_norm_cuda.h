// The CUDA LayerNorm kernels (their functions only in builds with SSMKIT_WITH_CUDA), called by
// ops::layer_norm for float32 rows of a multiple of 4 channels, at most 1024.
#pragma once

#include <ATen/core/Tensor.h>

namespace ssmkit::ops {

bool layer_norm_cuda_takes(const at::Tensor& x,        // (..., H)
                           const at::Tensor& weight);  // (H)

struct LayerNormCudaForward {
  at::Tensor y;     // (..., H)
  at::Tensor mean;  // (rows)
  at::Tensor rstd;  // (rows)
};

// Inputs that are not contiguous, or not on a 16-byte boundary, are copied first.
LayerNormCudaForward layer_norm_cuda_forward(const at::Tensor& x,       // (..., H)
                                             const at::Tensor& weight,  // (H)
                                             const at::Tensor& bias,    // (H)
                                             double eps);

struct LayerNormCudaGradients {
  at::Tensor grad_x;       // (..., H)
  at::Tensor grad_weight;  // (H)
  at::Tensor grad_bias;    // (H)
};

LayerNormCudaGradients layer_norm_cuda_backward(const at::Tensor& grad_y,  // (..., H)
                                                const at::Tensor& x,       // (..., H)
                                                const at::Tensor& weight,  // (H)
                                                const at::Tensor& mean,    // (rows)
                                                const at::Tensor& rstd);   // (rows)

}  // namespace ssmkit::ops
