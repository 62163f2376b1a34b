// Plain-data description of one depthwise causal conv1d launch (pointers, element strides, sizes)
// and the tiling the kernels and the host code share. No LibTorch, no CUDA headers.
#pragma once

#include <cstdint>

#include "common/element_dtype.h"

namespace ssmkit::kernels {

// Taps the kernels take; wider filters stay on LibTorch's convolution (Mamba uses 4).
constexpr int kConvMaxWidth = 8;
// A block computes (kConvTileChannels channels) x (kConvTileTime steps) of one batch row, staging
// its inputs (plus the K-1 steps before) in shared memory: reads follow whichever of the input's
// channel and time strides is 1, writes run along time.
constexpr int kConvTileChannels = 32;
constexpr int kConvTileTime = 64;
constexpr int kConvThreads = 256;

// y[b, d, t] = act(bias[d] + sum_k weight[d, k] * x[b, d, t - (K-1) + k]), x = 0 before t = 0.
struct CausalConv1dParams {
  int64_t batch = 0;         // B
  int64_t dim = 0;           // D
  int64_t seqlen = 0;        // L
  int width = 0;             // K, 1 .. kConvMaxWidth
  bool silu = false;         // act = SiLU (else identity)
  int64_t n_time_tiles = 0;  // ceil(L / kConvTileTime)

  const void* x = nullptr;  // (B, D, L) in the element dtype, any strides (e.g. a transposed view)
  int64_t x_batch_stride = 0, x_dim_stride = 0, x_time_stride = 0;
  const float* weight = nullptr;  // (D, K) contiguous
  const float* bias = nullptr;    // (D), or null
  void* y = nullptr;              // (B, D, L) contiguous, element dtype
};

// The backward recomputes the pre-activation from x. Sums over batch and time tiles of the weight
// and bias gradients are left as float32 partials (no atomics: deterministic results).
struct CausalConv1dBwdParams : CausalConv1dParams {
  const void* dy = nullptr;  // (B, D, L) element dtype, time contiguous
  int64_t dy_batch_stride = 0, dy_dim_stride = 0;
  void* dx = nullptr;                // (B, D, L) contiguous, element dtype
  float* dweight_partial = nullptr;  // (B, n_time_tiles, D, K)
  float* dbias_partial = nullptr;    // (B, n_time_tiles, D), or null without bias
};

}  // namespace ssmkit::kernels
