// Depthwise causal 1-D convolution, the short convolution in front of Mamba's scan: each channel d
// has its own K taps and output t sees inputs t-K+1 .. t only. Whole sequences, chunks that
// continue from a saved state, and single recurrent steps share one state convention.
#pragma once

#include <ATen/core/Tensor.h>

namespace ssmkit::ops {

// What follows the convolution. Fused here because Mamba always applies SiLU after it.
enum class ConvActivation { kNone, kSilu };

// y[b, d, t] = act(bias[d] + sum_k weight[d, k] * x[b, d, t - (K-1) + k]), inputs before t = 0 are
// zero. Differentiable. `bias` may be undefined.
at::Tensor causal_conv1d(const at::Tensor& x,                                 // (B, D, L)
                         const at::Tensor& weight,                            // (D, K)
                         const at::Tensor& bias,                              // (D) or undefined
                         ConvActivation activation = ConvActivation::kNone);  // -> (B, D, L)

// Same as causal_conv1d on a chunk that continues a sequence: `conv_state` holds the last K inputs
// seen before the chunk (oldest first, zeros at the start of a sequence) and is replaced by the
// last K inputs after it. Running a sequence chunk by chunk gives exactly causal_conv1d of the
// whole.
at::Tensor causal_conv1d_chunk(const at::Tensor& x,       // (B, D, L)
                               at::Tensor& conv_state,    // (B, D, K), replaced
                               const at::Tensor& weight,  // (D, K)
                               const at::Tensor& bias,    // (D) or undefined
                               ConvActivation activation = ConvActivation::kNone);  // -> (B, D, L)

// One recurrent step: shifts `conv_state` left by one, appends x, and returns the convolution at
// that step. Equals causal_conv1d_chunk with L = 1, in plain elementwise ops for inference.
at::Tensor causal_conv1d_update(const at::Tensor& x,       // (B, D)
                                at::Tensor& conv_state,    // (B, D, K), replaced
                                const at::Tensor& weight,  // (D, K)
                                const at::Tensor& bias,    // (D) or undefined
                                ConvActivation activation = ConvActivation::kNone);  // -> (B, D)

}  // namespace ssmkit::ops
