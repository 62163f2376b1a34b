// S4D's SSM from its trained parameters: the zero-order-hold discretisation of the S4
// repository's standalone S4D and the convolution with its Vandermonde kernel, run as the
// diagonal recurrence of ops/s4d_scan.h. On CUDA with float32 parameters the scan kernels
// discretise the modes themselves and a small kernel applies the chain rule to the parameters,
// instead of the dozens of small complex tensor operations (and their backward) per layer that
// s4d_discretize runs; elsewhere it is s4d_discretize followed by s4d_scan.
#pragma once

#include <ATen/core/Tensor.h>

namespace ssmkit::ops {

// Rows r = d * H + h of every direction d and channel h. With dt = exp(log_dt) and
// A = -exp(log_A_real) + i A_imag, each mode n has the decay exp(dt A) per step and the output
// weight 2 C (exp(dt A) - 1) / A (B = 1 folded in; the 2 stands for the conjugate mode).
struct S4DDiscretization {
  at::Tensor dt_A;    // (R, M) complex
  at::Tensor decay;   // (R, M) complex
  at::Tensor weight;  // (R, M) complex
};

S4DDiscretization s4d_discretize(const at::Tensor& log_dt,      // (R)
                                 const at::Tensor& log_A_real,  // (R, M)
                                 const at::Tensor& A_imag,      // (R, M)
                                 const at::Tensor& C);          // (R, M, 2), real and imaginary

// y[b, t, h] = D[h] u[b, t, h] + sum over the directions (R / H: 1 causal, 2 adds the
// anti-causal one) of u convolved with the direction's S4D kernel. Computes in float32 for 16-bit
// u (autocast), else in u's dtype.
at::Tensor s4d_ssm(const at::Tensor& u,           // (B, L, H)
                   const at::Tensor& log_dt,      // (R)
                   const at::Tensor& log_A_real,  // (R, M)
                   const at::Tensor& A_imag,      // (R, M)
                   const at::Tensor& C,           // (R, M, 2)
                   const at::Tensor& D);          // (H) -> (B, L, H)

}  // namespace ssmkit::ops
