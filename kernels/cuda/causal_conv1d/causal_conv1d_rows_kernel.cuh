// Depthwise causal conv1d (+ SiLU) for time-contiguous inputs, forward and backward. A thread owns
// kConvRowSegment (8) consecutive steps of one (batch, channel) row and reads and writes them as
// whole vectors; the W lanes that share a row (conv_row_lanes) cover W * 8 steps, a time tile, and
// pass each other the K-1 steps at their borders with warp shuffles. The staged-tile kernels spent
// most of their time on per-element index arithmetic and scalar accesses; these move each element
// once per pass in 16-byte pieces.
//
// Index convention: a thread's window holds the 15 steps t0-7 .. t0+7 (its own 8 and the 7 before),
// and the taps are shifted to the end of an 8-tap filter, so output j is sum_m w8[m] window[j+m]
// with every index a compile-time constant (no local-memory arrays whatever K is).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "causal_conv1d/causal_conv1d_params.h"
#include "common/element_vector.cuh"

namespace ssmkit::kernels::detail {

constexpr int kRowSeg = kConvRowSegment;
constexpr int kRowHalo = kRowSeg - 1;  // the widest filter's K-1
constexpr int kRowWindow = kRowHalo + kRowSeg;
static_assert(kConvMaxWidth == kRowSeg, "the shifted 8-tap filter covers the widest filter");
constexpr unsigned kRowFullMask = 0xffffffffu;

// Where this thread's segment lies. Every thread of a launched block runs the whole kernel (the
// shuffles need all lanes); those past the work or the sequence carry zeros and store nothing.
// Indices are 32-bit: conv_uses_rows admits only launches where they fit.
struct RowSegment {
  int64_t b = 0, d = 0;  // batch row and channel
  int64_t tile = 0;      // time tile (W lanes x 8 steps)
  int64_t t0 = 0;        // first step
  int lanes = 1;         // W: lanes sharing the row, a power of two
  int sub = 0;           // position among them
  bool row_ok = false;   // a real (b, d) row (false past the last one)
  int64_t count = 0;     // steps of the segment inside the sequence (0 .. 8)

  __device__ __forceinline__ RowSegment(const CausalConv1dParams& p, int log2_lanes) {
    lanes = 1 << log2_lanes;
    const uint32_t thread = blockIdx.x * blockDim.x + threadIdx.x;
    const uint32_t item = thread >> log2_lanes;  // one (b, d, tile)
    sub = static_cast<int>(thread & static_cast<uint32_t>(lanes - 1));
    const uint32_t tiles = static_cast<uint32_t>(p.n_time_tiles);
    const uint32_t dims = static_cast<uint32_t>(p.dim);
    const uint32_t row = item / tiles;
    tile = item - row * tiles;
    row_ok = row < static_cast<uint32_t>(p.batch) * dims;
    const uint32_t bi = row_ok ? row / dims : 0;
    b = bi;
    d = row_ok ? row - bi * dims : 0;
    t0 = (tile * lanes + sub) * kRowSeg;
    const int64_t left = row_ok ? p.seqlen - t0 : 0;
    count = left < 0 ? 0 : (left < kRowSeg ? left : kRowSeg);
  }
};

template <typename T>
__device__ __forceinline__ const T* x_row(const CausalConv1dParams& p, const RowSegment& s) {
  return static_cast<const T*>(p.x) + s.b * p.x_batch_stride + s.d * p.x_dim_stride;
}

// Loads `n` steps of a row starting at step t (any t; steps outside [0, L) read as 0).
template <typename T, int kN>
__device__ __forceinline__ void load_steps(const T* row, int64_t t, int64_t seqlen, bool row_ok,
                                           float (&out)[kN]) {
#pragma unroll
  for (int e = 0; e < kN; ++e) {
    const int64_t te = t + e;
    out[e] = row_ok && te >= 0 && te < seqlen ? to_float<T>(row[te]) : 0.f;
  }
}

// The 15-step window t0-7 .. t0+7: own steps by vector loads, the 7 before from the previous lane
// (shuffle), or from memory for the first lane of a tile.
template <typename T>
__device__ __forceinline__ void load_window(const CausalConv1dParams& p, const RowSegment& s,
                                            float (&win)[kRowWindow]) {
  const T* row = x_row<T>(p, s);
  float own[kRowSeg];
  load_values<T, kRowSeg>(row + s.t0, s.count, own);
  float halo[kRowHalo];
#pragma unroll
  for (int m = 0; m < kRowHalo; ++m)
    halo[m] = __shfl_up_sync(kRowFullMask, own[m + 1], 1, s.lanes);
  if (s.sub == 0) load_steps<T, kRowHalo>(row, s.t0 - kRowHalo, p.seqlen, s.row_ok, halo);
#pragma unroll
  for (int m = 0; m < kRowHalo; ++m)
    win[m] = halo[m];
#pragma unroll
  for (int j = 0; j < kRowSeg; ++j)
    win[kRowHalo + j] = own[j];
}

// Channel d's taps shifted to the end of an 8-tap filter (w8[8-K+k] = weight[k], zeros before),
// and its bias.
__device__ __forceinline__ void load_shifted_taps(const CausalConv1dParams& p, const RowSegment& s,
                                                  float (&w8)[kRowSeg], float* bias) {
  const int lead = kRowSeg - p.width;
#pragma unroll
  for (int m = 0; m < kRowSeg; ++m)
    w8[m] = s.row_ok && m >= lead ? p.weight[s.d * p.width + (m - lead)] : 0.f;
  *bias = s.row_ok && p.bias != nullptr ? p.bias[s.d] : 0.f;
}

// Pre-activation at step t0 + j + kOffset of a window whose index 0 is step t0 - 7 + kOffset.
template <int kN>
__device__ __forceinline__ float conv_in_window(const float (&w8)[kRowSeg], float bias,
                                                const float (&win)[kN], int j) {
  float acc = bias;
#pragma unroll
  for (int m = 0; m < kRowSeg; ++m)
    acc = fmaf(w8[m], win[j + m], acc);
  return acc;
}

__device__ __forceinline__ float silu_of(float v) {
  return v / (1.f + __expf(-v));
}

// d silu(v) / dv.
__device__ __forceinline__ float silu_slope(float v) {
  const float s = 1.f / (1.f + __expf(-v));
  return s * (1.f + v * (1.f - s));
}

template <typename T>
__global__ void __launch_bounds__(kConvThreads)
    causal_conv1d_rows_fwd_kernel(const CausalConv1dParams p, int log2_lanes) {
  const RowSegment s(p, log2_lanes);
  float win[kRowWindow];
  load_window<T>(p, s, win);
  float w8[kRowSeg], bias;
  load_shifted_taps(p, s, w8, &bias);
  float y[kRowSeg];
#pragma unroll
  for (int j = 0; j < kRowSeg; ++j) {
    const float v = conv_in_window(w8, bias, win, j);
    y[j] = p.silu ? silu_of(v) : v;
  }
  if (s.count > 0) {
    store_values<T>(static_cast<T*>(p.y) + (s.b * p.dim + s.d) * p.seqlen + s.t0, y, s.count);
  }
}

template <typename T>
__global__ void __launch_bounds__(kConvThreads)
    causal_conv1d_rows_bwd_kernel(const CausalConv1dBwdParams p, int log2_lanes) {
  const RowSegment s(p, log2_lanes);
  float win[kRowWindow];
  load_window<T>(p, s, win);
  float w8[kRowSeg], bias;
  load_shifted_taps(p, s, w8, &bias);
  const T* dy_row = static_cast<const T*>(p.dy) + s.b * p.dy_batch_stride + s.d * p.dy_dim_stride;

  // g = dy act'(pre) at the own steps (zero past L, where dy reads as zero).
  float g[kRowSeg];
  load_values<T, kRowSeg>(dy_row + s.t0, s.count, g);
  if (p.silu) {
#pragma unroll
    for (int j = 0; j < kRowSeg; ++j)
      g[j] *= silu_slope(conv_in_window(w8, bias, win, j));
  }

  // The 7 steps after: from the next lane, or computed here by the last lane of a tile (from x at
  // t0+1 .. t0+14 and dy at t0+8 .. t0+14).
  float g_next[kRowHalo];
#pragma unroll
  for (int m = 0; m < kRowHalo; ++m)
    g_next[m] = __shfl_down_sync(kRowFullMask, g[m], 1, s.lanes);
  if (s.sub == s.lanes - 1) {
    const int64_t t_next = s.t0 + kRowSeg;
    float after[kRowHalo];
    load_steps<T, kRowHalo>(dy_row, t_next, p.seqlen, s.row_ok, g_next);
    load_steps<T, kRowHalo>(x_row<T>(p, s), t_next, p.seqlen, s.row_ok, after);
    if (p.silu) {
      float win_next[kRowWindow - 1];  // steps t0+1 .. t0+14
#pragma unroll
      for (int i = 0; i < kRowSeg - 1; ++i)
        win_next[i] = win[kRowHalo + 1 + i];
#pragma unroll
      for (int i = 0; i < kRowHalo; ++i)
        win_next[kRowSeg - 1 + i] = after[i];
#pragma unroll
      for (int j = 0; j < kRowHalo; ++j)
        g_next[j] *= silu_slope(conv_in_window(w8, bias, win_next, j));
    }
  }

  // dx[t] = sum_k weight[k] g[t + (K-1) - k] = sum_m w8[m] g[t + 7 - m].
  float dx[kRowSeg];
#pragma unroll
  for (int j = 0; j < kRowSeg; ++j) {
    float acc = 0.f;
#pragma unroll
    for (int m = 0; m < kRowSeg; ++m) {
      const int i = j + kRowHalo - m;  // 0 .. 14
      acc = fmaf(w8[m], i < kRowSeg ? g[i] : g_next[i - kRowSeg], acc);
    }
    dx[j] = acc;
  }
  if (s.count > 0) {
    store_values<T>(static_cast<T*>(p.dx) + (s.b * p.dim + s.d) * p.seqlen + s.t0, dx, s.count);
  }

  // Tap and bias gradients of the tile: dw8[m] = sum_j g[j] window[j + m], summed over its lanes.
  float dw8[kRowSeg];
  float db = 0.f;
#pragma unroll
  for (int m = 0; m < kRowSeg; ++m)
    dw8[m] = 0.f;
#pragma unroll
  for (int j = 0; j < kRowSeg; ++j) {
    db += g[j];
#pragma unroll
    for (int m = 0; m < kRowSeg; ++m)
      dw8[m] = fmaf(g[j], win[j + m], dw8[m]);
  }
  for (int offset = s.lanes / 2; offset > 0; offset /= 2) {
    db += __shfl_xor_sync(kRowFullMask, db, offset, s.lanes);
#pragma unroll
    for (int m = 0; m < kRowSeg; ++m)
      dw8[m] += __shfl_xor_sync(kRowFullMask, dw8[m], offset, s.lanes);
  }
  if (s.sub == 0 && s.row_ok) {
    const int64_t row = (s.b * p.n_time_tiles + s.tile) * p.dim + s.d;  // (B, tiles, D)
    const int lead = kRowSeg - p.width;
#pragma unroll
    for (int m = 0; m < kRowSeg; ++m) {
      if (m >= lead) p.dweight_partial[row * p.width + (m - lead)] = dw8[m];
    }
    if (p.dbias_partial != nullptr) p.dbias_partial[row] = db;
  }
}

// Threads of a row launch: W per (b, d, time tile), rounded up to whole blocks.
inline dim3 conv_rows_grid(const CausalConv1dParams& p, int lanes) {
  const int64_t threads = p.batch * p.dim * p.n_time_tiles * lanes;
  return dim3(static_cast<unsigned>((threads + kConvThreads - 1) / kConvThreads));
}

inline int log2_of(int power_of_two) {
  int log2 = 0;
  while ((1 << log2) < power_of_two)
    ++log2;
  return log2;
}

template <typename T>
cudaError_t launch_conv_rows_fwd(const CausalConv1dParams& p, cudaStream_t stream) {
  const int lanes = conv_row_lanes(p.seqlen);
  causal_conv1d_rows_fwd_kernel<T>
      <<<conv_rows_grid(p, lanes), kConvThreads, 0, stream>>>(p, log2_of(lanes));
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_conv_rows_bwd(const CausalConv1dBwdParams& p, cudaStream_t stream) {
  const int lanes = conv_row_lanes(p.seqlen);
  causal_conv1d_rows_bwd_kernel<T>
      <<<conv_rows_grid(p, lanes), kConvThreads, 0, stream>>>(p, log2_of(lanes));
  return cudaGetLastError();
}

}  // namespace ssmkit::kernels::detail
