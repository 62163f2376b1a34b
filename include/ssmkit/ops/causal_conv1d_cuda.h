// The CUDA depthwise causal conv1d (only in builds with SSMKIT_WITH_CUDA): the kernels in
// kernels/causal_conv1d/ on the current stream, differentiable through autograd. causal_conv1d()
// dispatches here for the CUDA inputs it supports; call that, which validates the arguments.
#pragma once

#include <ATen/core/Tensor.h>

#include "ssmkit/ops/causal_conv1d.h"

namespace ssmkit::ops {

// Whether the CUDA kernels take this input: a CUDA tensor of float32, bfloat16 or float16 with at
// most 8 taps, batch up to 65535 and D up to 2 M.
bool causal_conv1d_cuda_supports(const at::Tensor& x,  // (B, D, L)
                                 int64_t width);

// causal_conv1d on validated CUDA tensors. x may have any strides: a transposed (channel-last)
// view is read in place, without a copy. weight and bias are float32 or x's dtype; the conv
// computes in float32 and y is contiguous in x's dtype.
at::Tensor causal_conv1d_cuda(const at::Tensor& x,         // (B, D, L)
                              const at::Tensor& weight,    // (D, K)
                              const at::Tensor& bias,      // (D) or undefined
                              ConvActivation activation);  // -> (B, D, L)

}  // namespace ssmkit::ops
