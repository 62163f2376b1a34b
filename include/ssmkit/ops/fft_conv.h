// Long causal convolution by FFT, the way S4-style layers apply their length-L kernels in
// O(L log L): zero-pad to 2L so the circular convolution equals the linear one, keep the first L.
#pragma once

#include <ATen/core/Tensor.h>

namespace ssmkit::ops {

// y[b, h, t] = sum_{s <= t} k[h, s] * u[b, h, t - s]. Differentiable. Kernels shorter than L act as
// if zero-padded; longer ones are cut to L.
at::Tensor fft_causal_conv(const at::Tensor& u,   // (B, H, L)
                           const at::Tensor& k);  // (H, Lk) -> (B, H, L)

}  // namespace ssmkit::ops
