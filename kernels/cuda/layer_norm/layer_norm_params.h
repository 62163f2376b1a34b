// Parameters of the CUDA LayerNorm kernels (layer_norm.cu), free of LibTorch: float32 arrays,
// contiguous, `rows` rows of `channels` values normalised over the channels.
#pragma once

#include <cstdint>

namespace ssmkit::kernels {

// Most channels the kernels take (8 float4 per lane of a warp); a multiple of 4.
constexpr int64_t kLayerNormMaxChannels = 1024;

struct LayerNormParams {
  int64_t rows = 0;
  int64_t channels = 0;
  float eps = 1e-5f;
  const float* x = nullptr;       // (rows, channels)
  const float* weight = nullptr;  // (channels)
  const float* bias = nullptr;    // (channels)
  float* y = nullptr;             // (rows, channels)
  float* mean = nullptr;          // (rows)
  float* rstd = nullptr;          // (rows), 1 / sqrt(var + eps)
};

// The input gradient, and the weight and bias gradients as one row of partial column sums per
// warp: partial_weight[w * channels + c] = sum over warp w's rows of grad_y * x_hat,
// partial_bias likewise of grad_y. The caller sums the `partial_rows` rows (layer_norm_bwd_warps).
struct LayerNormBwdParams {
  int64_t rows = 0;
  int64_t channels = 0;
  const float* grad_y = nullptr;    // (rows, channels)
  const float* x = nullptr;         // (rows, channels)
  const float* weight = nullptr;    // (channels)
  const float* mean = nullptr;      // (rows)
  const float* rstd = nullptr;      // (rows)
  float* grad_x = nullptr;          // (rows, channels)
  float* partial_weight = nullptr;  // (partial_rows, channels)
  float* partial_bias = nullptr;    // (partial_rows, channels)
  int64_t partial_rows = 0;
};

}  // namespace ssmkit::kernels
