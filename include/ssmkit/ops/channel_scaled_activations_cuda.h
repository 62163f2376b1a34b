// The CUDA kernels of ops/channel_scaled_activations.h (their functions only in builds with
// SSMKIT_WITH_CUDA), for contiguous float32 tensors on one device; `scale` and `residual` may be
// undefined.
#pragma once

#include <ATen/core/Tensor.h>

namespace ssmkit::ops {

bool channel_scaled_cuda_takes(const at::Tensor& x);  // (B, L, H) or (B, L, 2H)

at::Tensor gelu_channel_scaled_cuda_forward(const at::Tensor& y,        // (B, L, H)
                                            const at::Tensor& scale);   // (B, 1, H) -> (B, L, H)
at::Tensor gelu_channel_scaled_cuda_backward(const at::Tensor& grad_z,  // (B, L, H)
                                             const at::Tensor& y,       // (B, L, H)
                                             const at::Tensor& scale);  // (B, 1, H) -> (B, L, H)

at::Tensor glu_channel_scaled_cuda_forward(const at::Tensor& lin,        // (B, L, 2H)
                                           const at::Tensor& scale,      // (B, 1, H)
                                           const at::Tensor& residual);  // (B, L, H) -> (B, L, H)
at::Tensor glu_channel_scaled_cuda_backward(const at::Tensor& grad_z,    // (B, L, H)
                                            const at::Tensor& lin,       // (B, L, 2H)
                                            const at::Tensor& scale);    // (B, 1, H) -> (B, L, 2H)

}  // namespace ssmkit::ops
