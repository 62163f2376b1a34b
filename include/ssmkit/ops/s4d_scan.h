// S4D's long convolution run as the diagonal recurrence it comes from, differentiable: the CPU
// loops of kernels/cpu/s4d_scan_cpu_kernel.h, or on CUDA the kernels of kernels/cuda/s4d_scan.
//
// Per batch b, channel h, direction d and complex mode n:
//   s[t] = decay[d, h, n] * s[t - 1] + u[b, t, h]   (direction 0 forward in time, 1 backward from
//                                                    the end, so it reaches u[t..L))
//   y[b, t, h] = skip[h] * u[b, t, h] + sum_{d, n} Re(weight[d, h, n] * s[t]),
// which is u convolved with K_d[h, l] = Re(sum_n weight decay^l) (and the flipped K_1), the
// Vandermonde kernel of S4D, without building K or the (B, H, 2L) spectra of the FFT convolution.
// Complex parameters come as real and imaginary parts; their gradients follow PyTorch's convention
// (d/d real part, d/d imaginary part).
#pragma once

#include <ATen/core/Tensor.h>

namespace ssmkit::ops {

// Computes in u's dtype when it is float32 or float64, else (16-bit inputs under autocast) in
// float32; the parameters are converted to it. The result has the compute dtype.
at::Tensor s4d_scan(const at::Tensor& u,          // (B, L, H)
                    const at::Tensor& decay_re,   // (directions, H, M), directions 1 or 2
                    const at::Tensor& decay_im,   // (directions, H, M)
                    const at::Tensor& weight_re,  // (directions, H, M)
                    const at::Tensor& weight_im,  // (directions, H, M)
                    const at::Tensor& skip);      // (H) -> (B, L, H)

}  // namespace ssmkit::ops
