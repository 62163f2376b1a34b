// Depthwise causal conv1d (+ SiLU) kernels, forward and backward. One block = one batch row,
// kConvTileChannels channels, kConvTileTime steps. The block stages its input window (the K-1
// steps before the tile too; the backward also the K-1 after) as float32 in shared memory with
// reads that follow the input's unit stride, so a transposed (channel-last) view is read as fast
// as a contiguous one and needs no copy; outputs are written along time.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "causal_conv1d/causal_conv1d_params.h"
#include "causal_conv1d/causal_conv1d_rows_kernel.cuh"
#include "common/element_convert.cuh"

namespace ssmkit::kernels::detail {

constexpr int kConvHalo = kConvMaxWidth - 1;
constexpr unsigned kConvFullMask = 0xffffffffu;

// Copies x[b, d0 .. d0+32, t_begin .. t_begin+n_time) into tile (row `row` floats apart), zero
// outside the tensor. Consecutive threads take consecutive elements along the unit stride.
template <typename T>
__device__ __forceinline__ void load_conv_tile(const void* src, int64_t batch_stride,
                                               int64_t dim_stride, int64_t time_stride,
                                               const CausalConv1dParams& p, int64_t b, int64_t d0,
                                               int64_t t_begin, int n_time, float* tile, int row) {
  const T* base = static_cast<const T*>(src) + b * batch_stride;
  const bool channel_fast = dim_stride == 1 && time_stride != 1;
  const int n = kConvTileChannels * n_time;
  for (int e = threadIdx.x; e < n; e += kConvThreads) {
    const int c = channel_fast ? e % kConvTileChannels : e / n_time;
    const int j = channel_fast ? e / kConvTileChannels : e % n_time;
    const int64_t d = d0 + c;
    const int64_t t = t_begin + j;
    float v = 0.f;
    if (d < p.dim && t >= 0 && t < p.seqlen)
      v = to_float<T>(base[d * dim_stride + t * time_stride]);
    tile[c * row + j] = v;
  }
}

// The block's taps and biases; taps past K are zero.
__device__ __forceinline__ void load_conv_weights(const CausalConv1dParams& p, int64_t d0,
                                                  float (*ws)[kConvMaxWidth], float* bs) {
  for (int e = threadIdx.x; e < kConvTileChannels * kConvMaxWidth; e += kConvThreads) {
    const int c = e / kConvMaxWidth;
    const int k = e % kConvMaxWidth;
    const int64_t d = d0 + c;
    ws[c][k] = d < p.dim && k < p.width ? p.weight[d * p.width + k] : 0.f;
  }
  for (int c = threadIdx.x; c < kConvTileChannels; c += kConvThreads) {
    const int64_t d = d0 + c;
    bs[c] = d < p.dim && p.bias != nullptr ? p.bias[d] : 0.f;
  }
}

// bias + sum_k w[k] x[j + k] over the staged window (x index j + k is time j - (K-1) + k).
__device__ __forceinline__ float conv_at(const float* w, float bias, const float* x, int j,
                                         int width) {
  float acc = bias;
#pragma unroll
  for (int k = 0; k < kConvMaxWidth; ++k) {
    if (k < width) acc = fmaf(w[k], x[j + k], acc);
  }
  return acc;
}

// Calls fn(c, j, offset) for every output (channel d0 + c, step t0 + j) of the block's tile that
// lies inside the tensor, offset being its index in a contiguous (B, D, L) tensor. Consecutive
// threads take consecutive steps, so the stores run along time.
template <typename Fn>
__device__ __forceinline__ void for_each_tile_output(const CausalConv1dParams& p, int64_t b,
                                                     int64_t d0, int64_t t0, Fn fn) {
  for (int e = threadIdx.x; e < kConvTileChannels * kConvTileTime; e += kConvThreads) {
    const int c = e / kConvTileTime;
    const int j = e % kConvTileTime;
    const int64_t d = d0 + c;
    const int64_t t = t0 + j;
    if (d < p.dim && t < p.seqlen) fn(c, j, (b * p.dim + d) * p.seqlen + t);
  }
}

template <typename T>
__global__ void __launch_bounds__(kConvThreads)
    causal_conv1d_fwd_kernel(const CausalConv1dParams p) {
  constexpr int kRow = kConvTileTime + kConvHalo;  // odd: the channel-fast stores spread on banks
  __shared__ float xs[kConvTileChannels][kRow];    // time t0 - (K-1) + j at column j
  __shared__ float ws[kConvTileChannels][kConvMaxWidth];
  __shared__ float bs[kConvTileChannels];
  const int64_t t0 = static_cast<int64_t>(blockIdx.x) * kConvTileTime;
  const int64_t d0 = static_cast<int64_t>(blockIdx.y) * kConvTileChannels;
  const int64_t b = blockIdx.z;
  const int halo = p.width - 1;
  load_conv_tile<T>(p.x, p.x_batch_stride, p.x_dim_stride, p.x_time_stride, p, b, d0, t0 - halo,
                    kConvTileTime + halo, &xs[0][0], kRow);
  load_conv_weights(p, d0, ws, bs);
  __syncthreads();

  T* y = static_cast<T*>(p.y);
  for_each_tile_output(p, b, d0, t0, [&](int c, int j, int64_t offset) {
    float v = conv_at(ws[c], bs[c], xs[c], j, p.width);
    if (p.silu) v = v / (1.f + __expf(-v));
    y[offset] = from_float<T>(v);
  });
}

template <typename T>
__global__ void __launch_bounds__(kConvThreads)
    causal_conv1d_bwd_kernel(const CausalConv1dBwdParams p) {
  constexpr int kXRow = kConvTileTime + 2 * kConvHalo + 1;  // odd
  constexpr int kGRow = kConvTileTime + kConvHalo;          // odd
  __shared__ float xs[kConvTileChannels][kXRow];            // x at time t0 - (K-1) + j
  __shared__ float gs[kConvTileChannels][kGRow];  // dy, then g = dy act'(pre), at time t0 + j
  __shared__ float ws[kConvTileChannels][kConvMaxWidth];
  __shared__ float bs[kConvTileChannels];
  const int64_t tile = blockIdx.x;
  const int64_t t0 = tile * kConvTileTime;
  const int64_t d0 = static_cast<int64_t>(blockIdx.y) * kConvTileChannels;
  const int64_t b = blockIdx.z;
  const int halo = p.width - 1;
  const int n_g = kConvTileTime + halo;  // outputs whose gradient reaches this tile's inputs
  load_conv_tile<T>(p.x, p.x_batch_stride, p.x_dim_stride, p.x_time_stride, p, b, d0, t0 - halo,
                    n_g + halo, &xs[0][0], kXRow);
  load_conv_tile<T>(p.dy, p.dy_batch_stride, p.dy_dim_stride, 1, p, b, d0, t0, n_g, &gs[0][0],
                    kGRow);
  load_conv_weights(p, d0, ws, bs);
  __syncthreads();

  // g = dy act'(pre) in place (dy is zero past L, so g is too); each warp owns whole channels and
  // sums the tap and bias gradients of this tile's own steps over its lanes.
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  constexpr int kWarps = kConvThreads / 32;
  for (int c = warp; c < kConvTileChannels; c += kWarps) {
    float dw[kConvMaxWidth] = {};
    float db = 0.f;
    for (int j = lane; j < n_g; j += 32) {
      float g = gs[c][j];
      if (p.silu) {
        const float pre = conv_at(ws[c], bs[c], xs[c], j, p.width);
        const float s = 1.f / (1.f + __expf(-pre));
        g *= s * (1.f + pre * (1.f - s));
        gs[c][j] = g;
      }
      if (j < kConvTileTime) {
        db += g;
#pragma unroll
        for (int k = 0; k < kConvMaxWidth; ++k)
          dw[k] = fmaf(g, xs[c][j + k], dw[k]);
      }
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
      db += __shfl_xor_sync(kConvFullMask, db, offset);
#pragma unroll
      for (int k = 0; k < kConvMaxWidth; ++k)
        dw[k] += __shfl_xor_sync(kConvFullMask, dw[k], offset);
    }
    const int64_t d = d0 + c;
    if (lane == 0 && d < p.dim) {
      const int64_t row = (b * p.n_time_tiles + tile) * p.dim + d;  // (B, tiles, D)
#pragma unroll
      for (int k = 0; k < kConvMaxWidth; ++k) {
        if (k < p.width) p.dweight_partial[row * p.width + k] = dw[k];
      }
      if (p.dbias_partial != nullptr) p.dbias_partial[row] = db;
    }
  }
  __syncthreads();

  // dx[t] = sum_k w[k] g[t + (K-1) - k].
  T* dx = static_cast<T*>(p.dx);
  for_each_tile_output(p, b, d0, t0, [&](int c, int j, int64_t offset) {
    float acc = 0.f;
#pragma unroll
    for (int k = 0; k < kConvMaxWidth; ++k) {
      if (k < p.width) acc = fmaf(ws[c][k], gs[c][j + halo - k], acc);
    }
    dx[offset] = from_float<T>(acc);
  });
}

inline dim3 conv_grid(const CausalConv1dParams& p) {
  return dim3(static_cast<unsigned>(p.n_time_tiles),
              static_cast<unsigned>((p.dim + kConvTileChannels - 1) / kConvTileChannels),
              static_cast<unsigned>(p.batch));
}

// Shapes the grid can hold; the host API checks them first with clear messages.
inline bool conv_params_ok(const CausalConv1dParams& p) {
  return p.width >= 1 && p.width <= kConvMaxWidth && p.batch >= 1 && p.batch <= 65535 &&
         p.dim >= 1 && (p.dim + kConvTileChannels - 1) / kConvTileChannels <= 65535 &&
         p.seqlen >= 1 &&
         p.n_time_tiles == (p.seqlen + conv_time_tile_steps(p) - 1) / conv_time_tile_steps(p) &&
         p.n_time_tiles <= 0x7fffffff;
}

template <typename T>
cudaError_t launch_conv_fwd(const CausalConv1dParams& p, cudaStream_t stream) {
  if (!conv_params_ok(p)) return cudaErrorInvalidValue;
  if (conv_uses_rows(p)) return launch_conv_rows_fwd<T>(p, stream);
  causal_conv1d_fwd_kernel<T><<<conv_grid(p), kConvThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_conv_bwd(const CausalConv1dBwdParams& p, cudaStream_t stream) {
  if (!conv_params_ok(p)) return cudaErrorInvalidValue;
  if (conv_uses_rows(p)) return launch_conv_rows_bwd<T>(p, stream);
  causal_conv1d_bwd_kernel<T><<<conv_grid(p), kConvThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace ssmkit::kernels::detail
