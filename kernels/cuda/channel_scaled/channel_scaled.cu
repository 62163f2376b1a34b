// The CUDA channel-scaled activations: S4D's GELU with the channel dropout after it, and its GLU
// projection's gate with the block's channel dropout and residual add, each one pass over memory
// instead of the two or three elementwise passes (and their backward) LibTorch would make. One
// thread per element, grid-stride; at these sizes (tens of MB a tensor) memory bandwidth bounds
// them.
#include <cuda_runtime.h>

#include "channel_scaled/channel_scaled_launch.h"

namespace ssmkit::kernels {
namespace {

constexpr int kThreads = 256;
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// The element's per-(batch row, channel) factor.
struct ChannelScale {
  const float* scale;
  int64_t length, channels;
  __device__ __forceinline__ float at(int64_t i) const {
    if (scale == nullptr) return 1.f;
    const int64_t h = i % channels, b = i / (length * channels);
    return scale[b * channels + h];
  }
};

__device__ __forceinline__ float sigmoid(float x) {
  return 1.f / (1.f + __expf(-x));
}

__global__ void gelu_channel_scale_fwd_kernel(GeluChannelScaleParams p) {
  const ChannelScale s{p.scale, p.length, p.channels};
  const int64_t n = p.batch * p.length * p.channels;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float y = p.y[i];
    p.z[i] = 0.5f * y * (1.f + erff(y * kInvSqrt2)) * s.at(i);
  }
}

__global__ void gelu_channel_scale_bwd_kernel(GeluChannelScaleBwdParams p) {
  const ChannelScale s{p.scale, p.length, p.channels};
  const int64_t n = p.batch * p.length * p.channels;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float y = p.y[i];
    // d/dy of y Phi(y) = Phi(y) + y phi(y).
    const float slope =
        0.5f * (1.f + erff(y * kInvSqrt2)) + y * kInvSqrt2Pi * __expf(-0.5f * y * y);
    p.grad_y[i] = p.grad_z[i] * s.at(i) * slope;
  }
}

__global__ void glu_channel_scale_fwd_kernel(GluChannelScaleParams p) {
  const ChannelScale s{p.scale, p.length, p.channels};
  const int64_t h_count = p.channels, n = p.batch * p.length * h_count;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / h_count, h = i - row * h_count;
    const float* lin = p.lin + row * 2 * h_count;
    const float gated = lin[h] * sigmoid(lin[h_count + h]) * s.at(i);
    p.z[i] = p.residual == nullptr ? gated : p.residual[i] + gated;
  }
}

__global__ void glu_channel_scale_bwd_kernel(GluChannelScaleBwdParams p) {
  const ChannelScale s{p.scale, p.length, p.channels};
  const int64_t h_count = p.channels, n = p.batch * p.length * h_count;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / h_count, h = i - row * h_count;
    const float* lin = p.lin + row * 2 * h_count;
    float* grad_lin = p.grad_lin + row * 2 * h_count;
    const float value = lin[h], gate = sigmoid(lin[h_count + h]);
    const float g = p.grad_z[i] * s.at(i);
    grad_lin[h] = g * gate;
    grad_lin[h_count + h] = g * value * gate * (1.f - gate);
  }
}

// Enough blocks to fill the GPU several times over; the grid-stride loops take the rest.
dim3 grid_for(int64_t elements) {
  constexpr int64_t kMaxBlocks = 4096;
  const int64_t blocks = (elements + kThreads - 1) / kThreads;
  return dim3(static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks));
}

template <typename Params>
int64_t elements(const Params& p) {
  return p.batch * p.length * p.channels;
}

}  // namespace

cudaError_t gelu_channel_scale_fwd(const GeluChannelScaleParams& p, cudaStream_t stream) {
  if (elements(p) == 0) return cudaSuccess;
  gelu_channel_scale_fwd_kernel<<<grid_for(elements(p)), kThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

cudaError_t gelu_channel_scale_bwd(const GeluChannelScaleBwdParams& p, cudaStream_t stream) {
  if (elements(p) == 0) return cudaSuccess;
  gelu_channel_scale_bwd_kernel<<<grid_for(elements(p)), kThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

cudaError_t glu_channel_scale_fwd(const GluChannelScaleParams& p, cudaStream_t stream) {
  if (elements(p) == 0) return cudaSuccess;
  glu_channel_scale_fwd_kernel<<<grid_for(elements(p)), kThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

cudaError_t glu_channel_scale_bwd(const GluChannelScaleBwdParams& p, cudaStream_t stream) {
  if (elements(p) == 0) return cudaSuccess;
  glu_channel_scale_bwd_kernel<<<grid_for(elements(p)), kThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace ssmkit::kernels
