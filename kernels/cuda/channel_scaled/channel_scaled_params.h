// Parameters of the CUDA kernels of ops/channel_scaled_activations.h (channel_scaled.cu), free of
// LibTorch: float32 arrays, contiguous. `scale` is a per-(batch row, channel) factor (a channel
// dropout mask already divided by 1 - p), or nullptr for none.
#pragma once

#include <cstdint>

namespace ssmkit::kernels {

// z = gelu(y) * scale[b, h] (exact, erf GELU).
struct GeluChannelScaleParams {
  int64_t batch = 0;             // B
  int64_t length = 0;            // L
  int64_t channels = 0;          // H
  const float* y = nullptr;      // (B, L, H)
  const float* scale = nullptr;  // (B, H) or nullptr
  float* z = nullptr;            // (B, L, H), forward only
};

struct GeluChannelScaleBwdParams : GeluChannelScaleParams {
  const float* grad_z = nullptr;  // (B, L, H)
  float* grad_y = nullptr;        // (B, L, H)
};

// z = residual + scale[b, h] * value * sigmoid(gate), with lin = [value | gate] along the last axis
// (torch::glu(lin, -1)).
struct GluChannelScaleParams {
  int64_t batch = 0;                // B
  int64_t length = 0;               // L
  int64_t channels = 0;             // H (lin has 2 H)
  const float* lin = nullptr;       // (B, L, 2H)
  const float* scale = nullptr;     // (B, H) or nullptr
  const float* residual = nullptr;  // (B, L, H) or nullptr
  float* z = nullptr;               // (B, L, H), forward only
};

// The residual's gradient is grad_z itself; the kernel writes the projection's.
struct GluChannelScaleBwdParams : GluChannelScaleParams {
  const float* grad_z = nullptr;  // (B, L, H)
  float* grad_lin = nullptr;      // (B, L, 2H)
};

}  // namespace ssmkit::kernels
