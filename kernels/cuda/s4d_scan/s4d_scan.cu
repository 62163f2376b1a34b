// The CUDA S4D scan: one warp per (batch row, channel), each lane holding up to kModesPerLane of
// the channel's complex modes (lane n: modes n, n + 32, ...). The recurrence steps through time
// in chunks of 32: lane j loads step j of the chunk, which is broadcast to all lanes by a shuffle;
// the 32 per-step sums over modes are reduced across the warp at once by a transposing butterfly
// (31 shuffles per chunk, not 5 per step), after which lane j holds step j's output.
//
// The backward pass needs no state of the forward pass: the parameter gradients come from a
// forward-in-time pass that carries ds/d(decay) beside s, and the input gradient from the adjoint
// recurrence run backward in time (ops/s4d_scan.h, kernels/cpu/s4d_scan_cpu_kernel_impl.h).
#include <cuda_runtime.h>

#include "s4d_scan/s4d_scan_launch.h"

namespace ssmkit::kernels {
namespace {

constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = 4;
constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ int64_t time_of(int direction, int64_t step, int64_t length) {
  return direction == 0 ? step : length - 1 - step;
}

// One level of the transposing butterfly: lanes that differ in bit kOffset swap halves.
template <int kOffset>
__device__ __forceinline__ void fold(float (&v)[kWarp], int lane) {
  const bool upper = (lane & kOffset) != 0;
#pragma unroll
  for (int i = 0; i < kOffset; ++i) {
    const float send = upper ? v[i] : v[i + kOffset];
    const float keep = upper ? v[i + kOffset] : v[i];
    v[i] = keep + __shfl_xor_sync(kFullMask, send, kOffset);
  }
  if constexpr (kOffset > 1) fold<kOffset / 2>(v, lane);
}

// Returns, in lane j, the sum over the warp's lanes of v[j].
__device__ __forceinline__ float transpose_sum(float (&v)[kWarp], int lane) {
  fold<kWarp / 2>(v, lane);
  return v[0];
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = kWarp / 2; offset >= 1; offset /= 2)
    v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

// A lane's modes of one direction at channel h. Modes past M are zero: their state follows u but
// has no weight, and nothing is written for them.
template <int kModesPerLane>
struct LaneModes {
  float decay_re[kModesPerLane], decay_im[kModesPerLane];
  float weight_re[kModesPerLane], weight_im[kModesPerLane];

  __device__ __forceinline__ LaneModes(const S4DScanParams& p, int direction, int64_t h, int lane) {
#pragma unroll
    for (int k = 0; k < kModesPerLane; ++k) {
      const int64_t n = lane + k * kWarp;
      const bool real_mode = n < p.modes;
      const int64_t at = (direction * p.modes + n) * p.channels + h;
      decay_re[k] = real_mode ? p.decay_re[at] : 0.f;
      decay_im[k] = real_mode ? p.decay_im[at] : 0.f;
      weight_re[k] = real_mode ? p.weight_re[at] : 0.f;
      weight_im[k] = real_mode ? p.weight_im[at] : 0.f;
    }
  }
};

// Steps s = decay * s + x for the lane's modes and returns sum Re(weight * s) over them.
template <int kModesPerLane>
__device__ __forceinline__ float step_modes(const LaneModes<kModesPerLane>& m, float x,
                                            float (&state_re)[kModesPerLane],
                                            float (&state_im)[kModesPerLane]) {
  float sum = 0.f;
#pragma unroll
  for (int k = 0; k < kModesPerLane; ++k) {
    const float nr = fmaf(m.decay_re[k], state_re[k], fmaf(-m.decay_im[k], state_im[k], x));
    const float ni = fmaf(m.decay_re[k], state_im[k], m.decay_im[k] * state_re[k]);
    state_re[k] = nr;
    state_im[k] = ni;
    sum = fmaf(m.weight_re[k], nr, fmaf(-m.weight_im[k], ni, sum));
  }
  return sum;
}

// out[b, t, h] (=, or += for direction 1) the recurrence over x[b, ., h] in the direction's order,
// stepping chunks forward (reverse = false) or backward in that order; plus skip * x for
// direction 0.
template <int kModesPerLane>
__device__ __forceinline__ void run_recurrence(const S4DScanParams& p, int direction, bool reverse,
                                               int64_t h, int lane, const float* x, float* out,
                                               float skip) {
  const int64_t length = p.length, channels = p.channels;
  const LaneModes<kModesPerLane> m(p, direction, h, lane);
  float state_re[kModesPerLane], state_im[kModesPerLane];
#pragma unroll
  for (int k = 0; k < kModesPerLane; ++k)
    state_re[k] = state_im[k] = 0.f;
  const int64_t chunks = (length + kWarp - 1) / kWarp;
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t first = (reverse ? chunks - 1 - c : c) * kWarp;
    const int64_t step = first + lane;
    const bool valid = step < length;
    const int64_t t = time_of(direction, step, length);
    const float mine = valid ? x[t * channels] : 0.f;
    float sums[kWarp];
    if (reverse) {
#pragma unroll
      for (int j = kWarp - 1; j >= 0; --j)
        sums[j] = step_modes(m, __shfl_sync(kFullMask, mine, j), state_re, state_im);
    } else {
#pragma unroll
      for (int j = 0; j < kWarp; ++j)
        sums[j] = step_modes(m, __shfl_sync(kFullMask, mine, j), state_re, state_im);
    }
    const float total = transpose_sum(sums, lane);
    if (valid) out[t * channels] = direction == 0 ? total + skip * mine : out[t * channels] + total;
  }
  __syncwarp();  // direction 1 adds to what other lanes wrote
}

template <int kModesPerLane>
__global__ void __launch_bounds__(kWarp* kWarpsPerBlock) s4d_scan_fwd_kernel(S4DScanParams p) {
  const int lane = threadIdx.x % kWarp;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
  if (row >= p.batch * p.channels) return;  // the whole warp
  const int64_t b = row / p.channels, h = row % p.channels;
  const int64_t offset = b * p.length * p.channels + h;
  for (int d = 0; d < p.directions; ++d) {
    run_recurrence<kModesPerLane>(p, d, /*reverse=*/false, h, lane, p.u + offset, p.y + offset,
                                  p.skip[h]);
  }
}

// Parameter gradients of one direction (forward in its time order) and, for direction 0, the
// skip gradient.
template <int kModesPerLane>
__device__ __forceinline__ void parameter_gradients(const S4DScanBwdParams& p, int direction,
                                                    int64_t b, int64_t h, int lane, const float* u,
                                                    const float* grad_y) {
  const int64_t length = p.length, channels = p.channels;
  const LaneModes<kModesPerLane> m(p, direction, h, lane);
  float sr[kModesPerLane], si[kModesPerLane], pr[kModesPerLane], pi[kModesPerLane];
  float gwr[kModesPerLane], gwi[kModesPerLane], qr[kModesPerLane], qi[kModesPerLane];
#pragma unroll
  for (int k = 0; k < kModesPerLane; ++k)
    sr[k] = si[k] = pr[k] = pi[k] = gwr[k] = gwi[k] = qr[k] = qi[k] = 0.f;
  float skip_grad = 0.f;
  for (int64_t first = 0; first < length; first += kWarp) {
    const int64_t step = first + lane;
    const bool valid = step < length;
    const int64_t t = time_of(direction, step, length);
    const float u_mine = valid ? u[t * channels] : 0.f;
    const float g_mine = valid ? grad_y[t * channels] : 0.f;
    skip_grad = fmaf(u_mine, g_mine, skip_grad);
#pragma unroll
    for (int j = 0; j < kWarp; ++j) {
      const float x = __shfl_sync(kFullMask, u_mine, j);
      const float g = __shfl_sync(kFullMask, g_mine, j);
#pragma unroll
      for (int k = 0; k < kModesPerLane; ++k) {
        const float ar = m.decay_re[k], ai = m.decay_im[k];
        const float npr = fmaf(ar, pr[k], fmaf(-ai, pi[k], sr[k]));
        const float npi = fmaf(ar, pi[k], fmaf(ai, pr[k], si[k]));
        const float nr = fmaf(ar, sr[k], fmaf(-ai, si[k], x));
        const float ni = fmaf(ar, si[k], ai * sr[k]);
        pr[k] = npr;
        pi[k] = npi;
        sr[k] = nr;
        si[k] = ni;
        gwr[k] = fmaf(g, nr, gwr[k]);
        gwi[k] = fmaf(-g, ni, gwi[k]);
        qr[k] = fmaf(g, npr, qr[k]);
        qi[k] = fmaf(-g, npi, qi[k]);
      }
    }
  }
#pragma unroll
  for (int k = 0; k < kModesPerLane; ++k) {
    const int64_t n = lane + k * kWarp;
    if (n >= p.modes) continue;
    const int64_t at = ((b * p.directions + direction) * p.modes + n) * channels + h;
    const float wr = m.weight_re[k], wi = m.weight_im[k];
    p.grad_weight_re[at] = gwr[k];
    p.grad_weight_im[at] = gwi[k];
    p.grad_decay_re[at] = fmaf(wr, qr[k], wi * qi[k]);
    p.grad_decay_im[at] = fmaf(wr, qi[k], -wi * qr[k]);
  }
  if (direction == 0) {
    skip_grad = warp_sum(skip_grad);
    if (lane == 0) p.grad_skip[b * channels + h] = skip_grad;
  }
}

template <int kModesPerLane>
__global__ void __launch_bounds__(kWarp* kWarpsPerBlock) s4d_scan_bwd_kernel(S4DScanBwdParams p) {
  const int lane = threadIdx.x % kWarp;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
  if (row >= p.batch * p.channels) return;  // the whole warp
  const int64_t b = row / p.channels, h = row % p.channels;
  const int64_t offset = b * p.length * p.channels + h;
  for (int d = 0; d < p.directions; ++d)
    parameter_gradients<kModesPerLane>(p, d, b, h, lane, p.u + offset, p.grad_y + offset);
  // The adjoint: the same recurrence over grad_y, backward in each direction's order.
  for (int d = 0; d < p.directions; ++d) {
    run_recurrence<kModesPerLane>(p, d, /*reverse=*/true, h, lane, p.grad_y + offset,
                                  p.grad_u + offset, p.skip[h]);
  }
}

int modes_per_lane(int64_t modes) {
  if (modes <= kWarp) return 1;
  if (modes <= 2 * kWarp) return 2;
  if (modes <= 4 * kWarp) return 4;
  return 8;
}

template <typename Params, typename Launch>
cudaError_t launch(const Params& p, Launch kernel_for, cudaStream_t stream) {
  if (p.batch * p.channels == 0 || p.length == 0) return cudaSuccess;
  if (p.modes < 1 || p.modes > kS4DScanMaxModes) return cudaErrorInvalidValue;
  const int64_t rows = p.batch * p.channels;
  const dim3 grid(static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock));
  kernel_for(modes_per_lane(p.modes))<<<grid, kWarp * kWarpsPerBlock, 0, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace

cudaError_t s4d_scan_fwd(const S4DScanParams& p, cudaStream_t stream) {
  return launch(
      p,
      [](int k) {
        switch (k) {
          case 1:
            return &s4d_scan_fwd_kernel<1>;
          case 2:
            return &s4d_scan_fwd_kernel<2>;
          case 4:
            return &s4d_scan_fwd_kernel<4>;
          default:
            return &s4d_scan_fwd_kernel<8>;
        }
      },
      stream);
}

cudaError_t s4d_scan_bwd(const S4DScanBwdParams& p, cudaStream_t stream) {
  return launch(
      p,
      [](int k) {
        switch (k) {
          case 1:
            return &s4d_scan_bwd_kernel<1>;
          case 2:
            return &s4d_scan_bwd_kernel<2>;
          case 4:
            return &s4d_scan_bwd_kernel<4>;
          default:
            return &s4d_scan_bwd_kernel<8>;
        }
      },
      stream);
}

}  // namespace ssmkit::kernels
