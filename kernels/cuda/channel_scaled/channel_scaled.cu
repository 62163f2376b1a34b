// The CUDA channel-scaled activations: S4D's GELU with the channel dropout after it, and its GLU
// projection's gate with the block's channel dropout and residual add, each one pass over memory
// instead of the two or three elementwise passes (and their backward) LibTorch would make. At
// these sizes (tens of MB a tensor) memory bandwidth bounds them.
#include <cuda_runtime.h>

#include "channel_scaled/channel_scaled_launch.h"

namespace ssmkit::kernels {
namespace {

constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = 8;
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

__device__ __forceinline__ float sigmoid(float x) {
  return 1.f / (1.f + __expf(-x));
}

// Calls f(row, b, h) for every element of (B, L, H): one warp per row of H channels at a time (the
// lanes' loads are consecutive), grid-stride over the B L rows. The batch row b is worked out once
// per row: a 64-bit division per element would cost more than the element's memory traffic.
template <typename F>
__device__ __forceinline__ void for_each_element(int64_t batch, int64_t length, int64_t channels,
                                                 F f) {
  const int64_t rows = batch * length;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  const int lane = threadIdx.x % kWarp;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
       row < rows; row += warps) {
    const int64_t b = row / length;
    for (int64_t h = lane; h < channels; h += kWarp)
      f(row, b, h);
  }
}

// The per-(batch row, channel) factor, 1 without a scale.
__device__ __forceinline__ float channel_scale(const float* scale, int64_t channels, int64_t b,
                                               int64_t h) {
  return scale == nullptr ? 1.f : scale[b * channels + h];
}

__global__ void gelu_channel_scale_fwd_kernel(GeluChannelScaleParams p) {
  for_each_element(p.batch, p.length, p.channels, [&](int64_t row, int64_t b, int64_t h) {
    const int64_t i = row * p.channels + h;
    const float y = p.y[i];
    p.z[i] = 0.5f * y * (1.f + erff(y * kInvSqrt2)) * channel_scale(p.scale, p.channels, b, h);
  });
}

__global__ void gelu_channel_scale_bwd_kernel(GeluChannelScaleBwdParams p) {
  for_each_element(p.batch, p.length, p.channels, [&](int64_t row, int64_t b, int64_t h) {
    const int64_t i = row * p.channels + h;
    const float y = p.y[i];
    // d/dy of y Phi(y) = Phi(y) + y phi(y).
    const float slope =
        0.5f * (1.f + erff(y * kInvSqrt2)) + y * kInvSqrt2Pi * __expf(-0.5f * y * y);
    p.grad_y[i] = p.grad_z[i] * channel_scale(p.scale, p.channels, b, h) * slope;
  });
}

__global__ void glu_channel_scale_fwd_kernel(GluChannelScaleParams p) {
  for_each_element(p.batch, p.length, p.channels, [&](int64_t row, int64_t b, int64_t h) {
    const int64_t i = row * p.channels + h;
    const float* lin = p.lin + row * 2 * p.channels;
    const float gated =
        lin[h] * sigmoid(lin[p.channels + h]) * channel_scale(p.scale, p.channels, b, h);
    p.z[i] = p.residual == nullptr ? gated : p.residual[i] + gated;
  });
}

__global__ void glu_channel_scale_bwd_kernel(GluChannelScaleBwdParams p) {
  for_each_element(p.batch, p.length, p.channels, [&](int64_t row, int64_t b, int64_t h) {
    const int64_t i = row * p.channels + h;
    const float* lin = p.lin + row * 2 * p.channels;
    float* grad_lin = p.grad_lin + row * 2 * p.channels;
    const float value = lin[h], gate = sigmoid(lin[p.channels + h]);
    const float g = p.grad_z[i] * channel_scale(p.scale, p.channels, b, h);
    grad_lin[h] = g * gate;
    grad_lin[p.channels + h] = g * value * gate * (1.f - gate);
  });
}

// Enough warps to fill the GPU several times over; the grid-stride loops take the rest.
constexpr int kThreads = kWarp * kWarpsPerBlock;
dim3 grid_for(int64_t rows) {
  constexpr int64_t kMaxBlocks = 4096;
  const int64_t blocks = (rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
  return dim3(static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks));
}

template <typename Params>
int64_t elements(const Params& p) {
  return p.batch * p.length * p.channels;
}

}  // namespace

cudaError_t gelu_channel_scale_fwd(const GeluChannelScaleParams& p, cudaStream_t stream) {
  if (elements(p) == 0) return cudaSuccess;
  gelu_channel_scale_fwd_kernel<<<grid_for(p.batch * p.length), kThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

cudaError_t gelu_channel_scale_bwd(const GeluChannelScaleBwdParams& p, cudaStream_t stream) {
  if (elements(p) == 0) return cudaSuccess;
  gelu_channel_scale_bwd_kernel<<<grid_for(p.batch * p.length), kThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

cudaError_t glu_channel_scale_fwd(const GluChannelScaleParams& p, cudaStream_t stream) {
  if (elements(p) == 0) return cudaSuccess;
  glu_channel_scale_fwd_kernel<<<grid_for(p.batch * p.length), kThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

cudaError_t glu_channel_scale_bwd(const GluChannelScaleBwdParams& p, cudaStream_t stream) {
  if (elements(p) == 0) return cudaSuccess;
  glu_channel_scale_bwd_kernel<<<grid_for(p.batch * p.length), kThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace ssmkit::kernels
