// The CUDA LayerNorm: one warp per row, each lane holding V float4 of the row (channels
// 4 lane + 128 v), the row's sums by warp shuffles. The backward pass gives the input gradient
// and, in the same read of the row, accumulates each lane's columns of the weight and bias
// gradients over the warp's rows: one row of partial sums per warp, which the caller sums.
// LibTorch's kernels for these spend 77 µs (forward) and 42 + 194 µs (input gradient, then the
// weight and bias gradients in 4 thread blocks) on S4Model's 50,176 rows of 128 channels
// (docs/perf.md).
#include <cuda_runtime.h>

#include <algorithm>

#include "common/warp_sum.cuh"
#include "layer_norm/layer_norm_launch.h"

namespace ssmkit::kernels {
namespace {

constexpr int kWarp = kWarpSize;
constexpr int kWarpsPerBlock = 8;
// Warps of the backward pass at most: enough loads in flight on every SM, few partial rows.
constexpr int64_t kMaxBwdWarps = 4096;

__device__ __forceinline__ float sum4(float4 v) {
  return (v.x + v.y) + (v.z + v.w);
}

// A lane's columns: float4 v of the lane starts at column 4 lane + 128 v.
template <int V>
struct LaneColumns {
  int64_t first[V];
  bool valid[V];
  __device__ __forceinline__ LaneColumns(int lane, int64_t channels) {
#pragma unroll
    for (int v = 0; v < V; ++v) {
      first[v] = 4 * lane + 4 * kWarp * v;
      valid[v] = first[v] < channels;
    }
  }
  __device__ __forceinline__ void load(const float* row, float4 (&out)[V]) const {
#pragma unroll
    for (int v = 0; v < V; ++v)
      out[v] = valid[v] ? *reinterpret_cast<const float4*>(row + first[v]) : float4{0, 0, 0, 0};
  }
  __device__ __forceinline__ void store(float* row, const float4 (&in)[V]) const {
#pragma unroll
    for (int v = 0; v < V; ++v) {
      if (valid[v]) *reinterpret_cast<float4*>(row + first[v]) = in[v];
    }
  }
};

__device__ __forceinline__ int64_t first_warp() {
  return static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
}
__device__ __forceinline__ int64_t warp_count() {
  return static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
}

template <int V>
__global__ void __launch_bounds__(kWarp* kWarpsPerBlock) layer_norm_fwd_kernel(LayerNormParams p) {
  const int lane = threadIdx.x % kWarp;
  const LaneColumns<V> columns(lane, p.channels);
  float4 weight[V], bias[V];
  columns.load(p.weight, weight);
  columns.load(p.bias, bias);
  const float inverse_channels = 1.f / static_cast<float>(p.channels);
  for (int64_t row = first_warp(); row < p.rows; row += warp_count()) {
    float4 x[V];
    columns.load(p.x + row * p.channels, x);
    float sum = 0.f;
#pragma unroll
    for (int v = 0; v < V; ++v)
      sum += sum4(x[v]);
    const float mean = warp_sum(sum) * inverse_channels;
    // The variance from the centred values (two passes over registers, not E[x^2] - mean^2).
    float squares = 0.f;
#pragma unroll
    for (int v = 0; v < V; ++v) {
      if (!columns.valid[v]) continue;
      const float4 c = {x[v].x - mean, x[v].y - mean, x[v].z - mean, x[v].w - mean};
      squares += (c.x * c.x + c.y * c.y) + (c.z * c.z + c.w * c.w);
    }
    const float rstd = rsqrtf(warp_sum(squares) * inverse_channels + p.eps);
    float4 y[V];
#pragma unroll
    for (int v = 0; v < V; ++v) {
      y[v] = {fmaf((x[v].x - mean) * rstd, weight[v].x, bias[v].x),
              fmaf((x[v].y - mean) * rstd, weight[v].y, bias[v].y),
              fmaf((x[v].z - mean) * rstd, weight[v].z, bias[v].z),
              fmaf((x[v].w - mean) * rstd, weight[v].w, bias[v].w)};
    }
    columns.store(p.y + row * p.channels, y);
    if (lane == 0) {
      p.mean[row] = mean;
      p.rstd[row] = rstd;
    }
  }
}

template <int V>
__global__ void __launch_bounds__(kWarp* kWarpsPerBlock)
    layer_norm_bwd_kernel(LayerNormBwdParams p) {
  const int lane = threadIdx.x % kWarp;
  const LaneColumns<V> columns(lane, p.channels);
  float4 weight[V], grad_weight[V], grad_bias[V];
  columns.load(p.weight, weight);
#pragma unroll
  for (int v = 0; v < V; ++v)
    grad_weight[v] = grad_bias[v] = float4{0, 0, 0, 0};
  const float inverse_channels = 1.f / static_cast<float>(p.channels);
  const int64_t warp = first_warp();
  for (int64_t row = warp; row < p.rows; row += warp_count()) {
    float4 g[V], x[V];
    columns.load(p.grad_y + row * p.channels, g);
    columns.load(p.x + row * p.channels, x);
    const float mean = p.mean[row], rstd = p.rstd[row];
    float4 x_hat[V], g_w[V];
    float dot = 0.f, sum = 0.f;
#pragma unroll
    for (int v = 0; v < V; ++v) {
      x_hat[v] = {(x[v].x - mean) * rstd, (x[v].y - mean) * rstd, (x[v].z - mean) * rstd,
                  (x[v].w - mean) * rstd};
      g_w[v] = {g[v].x * weight[v].x, g[v].y * weight[v].y, g[v].z * weight[v].z,
                g[v].w * weight[v].w};
      dot += (g_w[v].x * x_hat[v].x + g_w[v].y * x_hat[v].y) +
             (g_w[v].z * x_hat[v].z + g_w[v].w * x_hat[v].w);
      sum += sum4(g_w[v]);
      grad_weight[v].x = fmaf(g[v].x, x_hat[v].x, grad_weight[v].x);
      grad_weight[v].y = fmaf(g[v].y, x_hat[v].y, grad_weight[v].y);
      grad_weight[v].z = fmaf(g[v].z, x_hat[v].z, grad_weight[v].z);
      grad_weight[v].w = fmaf(g[v].w, x_hat[v].w, grad_weight[v].w);
      grad_bias[v] = {grad_bias[v].x + g[v].x, grad_bias[v].y + g[v].y, grad_bias[v].z + g[v].z,
                      grad_bias[v].w + g[v].w};
    }
    // grad_x = rstd (g w - mean(g w) - x_hat mean(g w x_hat))
    const float mean_dot = warp_sum(dot) * inverse_channels;
    const float mean_sum = warp_sum(sum) * inverse_channels;
    float4 grad_x[V];
#pragma unroll
    for (int v = 0; v < V; ++v) {
      grad_x[v] = {rstd * (g_w[v].x - mean_sum - x_hat[v].x * mean_dot),
                   rstd * (g_w[v].y - mean_sum - x_hat[v].y * mean_dot),
                   rstd * (g_w[v].z - mean_sum - x_hat[v].z * mean_dot),
                   rstd * (g_w[v].w - mean_sum - x_hat[v].w * mean_dot)};
    }
    columns.store(p.grad_x + row * p.channels, grad_x);
  }
  columns.store(p.partial_weight + warp * p.channels, grad_weight);
  columns.store(p.partial_bias + warp * p.channels, grad_bias);
}

template <template <int> class Kernel>
auto kernel_for_channels(int64_t channels) {
  if (channels <= 128) return Kernel<1>::kernel;
  if (channels <= 256) return Kernel<2>::kernel;
  if (channels <= 512) return Kernel<4>::kernel;
  return Kernel<8>::kernel;
}
template <int V>
struct Forward {
  static constexpr auto kernel = &layer_norm_fwd_kernel<V>;
};
template <int V>
struct Backward {
  static constexpr auto kernel = &layer_norm_bwd_kernel<V>;
};

int64_t blocks_for_warps(int64_t warps) {
  return (warps + kWarpsPerBlock - 1) / kWarpsPerBlock;
}

}  // namespace

bool layer_norm_takes(int64_t channels) {
  return channels >= 4 && channels % 4 == 0 && channels <= kLayerNormMaxChannels;
}

int64_t layer_norm_bwd_warps(int64_t rows) {
  return blocks_for_warps(std::clamp<int64_t>(rows, 1, kMaxBwdWarps)) * kWarpsPerBlock;
}

cudaError_t layer_norm_fwd(const LayerNormParams& p, cudaStream_t stream) {
  if (!layer_norm_takes(p.channels)) return cudaErrorInvalidValue;
  if (p.rows == 0) return cudaSuccess;
  // Grid-stride over rows: at most 2^20 blocks, each warp then takes several rows.
  const int64_t blocks = std::min<int64_t>(blocks_for_warps(p.rows), int64_t{1} << 20);
  kernel_for_channels<Forward>(
      p.channels)<<<static_cast<unsigned>(blocks), kWarp * kWarpsPerBlock, 0, stream>>>(p);
  return cudaGetLastError();
}

cudaError_t layer_norm_bwd(const LayerNormBwdParams& p, cudaStream_t stream) {
  if (!layer_norm_takes(p.channels) || p.partial_rows != layer_norm_bwd_warps(p.rows))
    return cudaErrorInvalidValue;
  const int64_t blocks = p.partial_rows / kWarpsPerBlock;
  kernel_for_channels<Backward>(
      p.channels)<<<static_cast<unsigned>(blocks), kWarp * kWarpsPerBlock, 0, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace ssmkit::kernels
