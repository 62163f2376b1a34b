// S4D's elementwise stages with a per-(batch row, channel) scale folded in: the channel dropout
// mask (ops::channel_dropout_scale) applied inside the GELU, and inside the GLU gate together
// with the block's residual add. On CUDA each is one kernel pass forward and one backward
// (kernels/cuda/channel_scaled); elsewhere LibTorch's operators, the same values.
#pragma once

#include <ATen/core/Tensor.h>

namespace ssmkit::ops {

// gelu(y) * scale (exact, erf GELU). `scale` undefined: no scaling. Differentiable in y.
at::Tensor gelu_channel_scaled(const at::Tensor& y,       // (B, L, H)
                               const at::Tensor& scale);  // (B, 1, H) -> (B, L, H)

// residual + scale * glu(lin) with glu(lin) = value * sigmoid(gate), lin = [value | gate] along
// the last axis. `scale` or `residual` undefined: left out. Differentiable in lin and residual.
at::Tensor glu_channel_scaled(const at::Tensor& lin,        // (B, L, 2H)
                              const at::Tensor& scale,      // (B, 1, H)
                              const at::Tensor& residual);  // (B, L, H) -> (B, L, H)

}  // namespace ssmkit::ops
