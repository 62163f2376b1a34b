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

// For tests and benchmarks: 4 or 8 forces the kernels' complex modes per lane (for more than 4
// modes; every layout must give the same results); 0 (the default) picks 8.
void set_s4d_scan_cuda_modes_per_lane(int modes);

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

// ops::s4d_ssm on CUDA: the scan kernels discretise S4D's parameters themselves.
struct S4DSsmGradients {
  at::Tensor grad_u;           // (B, L, H), float32
  at::Tensor grad_log_dt;      // (R)
  at::Tensor grad_log_A_real;  // (R, M)
  at::Tensor grad_A_imag;      // (R, M)
  at::Tensor grad_C;           // (R, M, 2)
  at::Tensor grad_skip;        // (H)
};

// Float32, contiguous: u, and the parameters of ops::s4d_ssm.
at::Tensor s4d_ssm_cuda_forward(const at::Tensor& u,           // (B, L, H)
                                const at::Tensor& log_dt,      // (R)
                                const at::Tensor& log_A_real,  // (R, M)
                                const at::Tensor& A_imag,      // (R, M)
                                const at::Tensor& C,           // (R, M, 2)
                                const at::Tensor& skip);       // (H) -> (B, L, H)

S4DSsmGradients s4d_ssm_cuda_backward(const at::Tensor& u,           // (B, L, H)
                                      const at::Tensor& log_dt,      // (R)
                                      const at::Tensor& log_A_real,  // (R, M)
                                      const at::Tensor& A_imag,      // (R, M)
                                      const at::Tensor& C,           // (R, M, 2)
                                      const at::Tensor& skip,        // (H)
                                      const at::Tensor& grad_y);     // (B, L, H)

}  // namespace ssmkit::ops
