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
// Time-contiguous inputs (x's time stride 1, as Mamba's channel-major layout gives) take the row
// kernels instead: each thread owns kConvRowSegment consecutive steps of one (batch, channel) row
// and reads and writes them as whole vectors; the lanes that share a row pass the K-1 steps at
// their borders by warp shuffles. No shared memory, no staging.
constexpr int kConvRowSegment = 8;
constexpr int kConvRowMaxLanes = 32;

// Lanes that share one row in the row kernels: enough for the row's segments, a power of two, at
// most a warp (short rows pack several to a warp).
inline int conv_row_lanes(int64_t seqlen) {
  const int64_t segments = (seqlen + kConvRowSegment - 1) / kConvRowSegment;
  int lanes = 1;
  while (lanes < segments && lanes < kConvRowMaxLanes)
    lanes *= 2;
  return lanes;
}

// y[b, d, t] = act(bias[d] + sum_k weight[d, k] * x[b, d, t - (K-1) + k]), x = 0 before t = 0.
struct CausalConv1dParams {
  int64_t batch = 0;         // B
  int64_t dim = 0;           // D
  int64_t seqlen = 0;        // L
  int width = 0;             // K, 1 .. kConvMaxWidth
  bool silu = false;         // act = SiLU (else identity)
  int64_t n_time_tiles = 0;  // ceil(L / conv_time_tile_steps(*this))

  const void* x = nullptr;  // (B, D, L) in the element dtype, any strides (e.g. a transposed view)
  int64_t x_batch_stride = 0, x_dim_stride = 0, x_time_stride = 0;
  const float* weight = nullptr;  // (D, K) contiguous
  const float* bias = nullptr;    // (D), or null
  void* y = nullptr;              // (B, D, L) contiguous, element dtype
};

// Whether a launch takes the row kernels: time-contiguous x, and thread and row indices that fit
// 32 bits (the kernels' index arithmetic); else the staged tiles.
inline bool conv_uses_rows(const CausalConv1dParams& p) {
  if (p.x_time_stride != 1) return false;
  const int64_t lanes = conv_row_lanes(p.seqlen);
  const int64_t tile_steps = lanes * kConvRowSegment;
  const int64_t tiles = (p.seqlen + tile_steps - 1) / tile_steps;
  constexpr int64_t kMaxIndex = 0x7fffffff;
  return p.batch * p.dim * tiles * lanes + kConvThreads <= kMaxIndex;
}

// Steps of one time tile: the unit of the backward's weight and bias partials.
inline int64_t conv_time_tile_steps(const CausalConv1dParams& p) {
  return conv_uses_rows(p) ? int64_t{conv_row_lanes(p.seqlen)} * kConvRowSegment : kConvTileTime;
}

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
