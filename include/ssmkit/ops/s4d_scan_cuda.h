// The CUDA S4D scan (its functions only in builds with SSMKIT_WITH_CUDA), called by ops::s4d_scan
// on prepared tensors: float32, contiguous, the parameters in the kernels' (directions, M, H)
// layout; and the gradients as both back ends write them.
#pragma once

#include <ATen/core/Tensor.h>

namespace ssmkit::ops {

// The scan's gradients with those of the parameters per batch row (the caller sums them).
struct S4DScanRowGradients {
  at::Tensor grad_u;          // (B, L, H)
  at::Tensor grad_decay_re;   // (B, directions, M, H), per batch row
  at::Tensor grad_decay_im;   // (B, directions, M, H)
  at::Tensor grad_weight_re;  // (B, directions, M, H)
  at::Tensor grad_weight_im;  // (B, directions, M, H)
  at::Tensor grad_skip;       // (B, H)
};

// Whether the kernels take this problem: float32 on CUDA, at most kMaxModes modes.
bool s4d_scan_cuda_supports(const at::Tensor& u,  // (B, L, H)
                            int64_t modes);

at::Tensor s4d_scan_cuda_forward(const at::Tensor& u,          // (B, L, H)
                                 const at::Tensor& decay_re,   // (directions, M, H)
                                 const at::Tensor& decay_im,   // (directions, M, H)
                                 const at::Tensor& weight_re,  // (directions, M, H)
                                 const at::Tensor& weight_im,  // (directions, M, H)
                                 const at::Tensor& skip);      // (H) -> (B, L, H)

// Writes every element of `out`, allocated by the caller.
void s4d_scan_cuda_backward(const at::Tensor& u,          // (B, L, H)
                            const at::Tensor& decay_re,   // (directions, M, H)
                            const at::Tensor& decay_im,   // (directions, M, H)
                            const at::Tensor& weight_re,  // (directions, M, H)
                            const at::Tensor& weight_im,  // (directions, M, H)
                            const at::Tensor& skip,       // (H)
                            const at::Tensor& grad_y,     // (B, L, H)
                            const S4DScanRowGradients& out);

}  // namespace ssmkit::ops
