// The CUDA S4D scan. A group of G lanes runs one (batch row, channel), each lane holding K of the
// channel's complex modes (lane g of the group: modes g, g + G, ...), so a warp runs 32 / G
// channels side by side. Every lane reads the channel's input itself (the group's lanes read the
// same address; the warp's 32 / G channels are adjacent in memory) one chunk of steps ahead of
// the recurrence, and the group's partial sums over modes meet by log2(G) shuffles a step. K
// independent modes per lane keep a lane's dependent multiply-adds apart, and there is no
// per-step broadcast: the instructions a step are the modes' arithmetic and little more.
//
// The backward pass needs no state of the forward pass: the parameter gradients come from a
// forward-in-time pass that carries ds/d(decay) beside s, and the input gradient from the adjoint
// recurrence run backward in time (ops/s4d_scan.h, kernels/cpu/s4d_scan_cpu_kernel_impl.h).
//
// When given S4D's parameters instead of the discretised SSM, each lane discretises its modes
// itself, and s4d_discretization_bwd applies the chain rule to the summed gradients: the dozens
// of small complex tensor operations per layer that LibTorch would run are gone.
#include <cuda_runtime.h>

#include <utility>

#include "common/warp_sum.cuh"
#include "s4d_scan/s4d_scan_launch.h"

namespace ssmkit::kernels {
namespace {

constexpr int kWarp = kWarpSize;
constexpr int kWarpsPerBlock = 4;
// Steps whose inputs a lane loads ahead of the recurrence: a chunk's loads are in flight while
// the previous chunk is computed.
constexpr int kScanChunk = 16;
// The parameter-gradient pass holds twice the state and two inputs a step: shorter chunks.
constexpr int kGradientChunk = 8;
// Blocks per SM the register budget must allow (at most 128 and 168 registers a thread): 16 and
// 12 warps, where a step's latency needs more than the 8 warps per SM of S4Model's batch.
constexpr int kFwdBlocksPerSm = 4;
constexpr int kBwdBlocksPerSm = 3;

struct Complex {
  float re, im;
};
__device__ __forceinline__ Complex operator*(Complex a, Complex b) {
  return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
__device__ __forceinline__ Complex operator+(Complex a, Complex b) {
  return {a.re + b.re, a.im + b.im};
}
__device__ __forceinline__ Complex operator*(float s, Complex a) {
  return {s * a.re, s * a.im};
}
__device__ __forceinline__ Complex conj(Complex a) {
  return {a.re, -a.im};
}
__device__ __forceinline__ Complex operator/(Complex a, Complex b) {
  const float norm = b.re * b.re + b.im * b.im;
  return {(a.re * b.re + a.im * b.im) / norm, (a.im * b.re - a.re * b.im) / norm};
}

// S4D's zero-order hold for row r (direction * H + h) and mode n.
struct Discretization {
  float dt;
  Complex a, decay, decay_minus_one, c, weight;

  __device__ __forceinline__ Discretization(const float* log_dt, const float* log_A_real,
                                            const float* A_imag, const float* C, int64_t modes,
                                            int64_t r, int64_t n) {
    const int64_t at = r * modes + n;
    dt = expf(log_dt[r]);
    a = {-expf(log_A_real[at]), A_imag[at]};
    const float z_re = dt * a.re, z_im = dt * a.im;
    float sin_z, cos_z;
    sincosf(z_im, &sin_z, &cos_z);
    const float half_sin = sinf(0.5f * z_im);
    const float magnitude = expf(z_re);
    decay = {magnitude * cos_z, magnitude * sin_z};
    // exp(z) - 1 without the cancellation of subtracting 1 from a number near 1 (dt A is small
    // for slow modes): expm1(Re z) cos(Im z) + (cos(Im z) - 1), with cos - 1 = -2 sin^2(Im z / 2).
    decay_minus_one = {fmaf(expm1f(z_re), cos_z, -2.f * half_sin * half_sin), decay.im};
    c = {C[2 * at], C[2 * at + 1]};
    weight = (2.f * (c * decay_minus_one)) / a;
  }
};

// A lane's channel and modes, G lanes per channel. Channels past H and modes past M run with zero
// parameters (their state follows the input but has no weight) and write nothing.
template <int G>
struct Lane {
  int64_t b = 0, h = 0;
  int group_lane = 0;
  bool active_warp = false, real_channel = false;

  __device__ __forceinline__ explicit Lane(const S4DScanParams& p) {
    constexpr int kChannelsPerWarp = kWarp / G;
    const int lane = threadIdx.x % kWarp;
    const int64_t warps_per_row = (p.channels + kChannelsPerWarp - 1) / kChannelsPerWarp;
    const int64_t warp = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
    b = warp / warps_per_row;
    h = (warp % warps_per_row) * kChannelsPerWarp + lane / G;
    group_lane = lane % G;
    active_warp = b < p.batch;
    real_channel = active_warp && h < p.channels;
  }
  __device__ __forceinline__ int64_t mode(int k) const { return group_lane + k * G; }
  __device__ __forceinline__ bool writes() const { return real_channel && group_lane == 0; }
};

template <int K>
struct LaneModes {
  float decay_re[K], decay_im[K], weight_re[K], weight_im[K];

  template <int G>
  __device__ __forceinline__ LaneModes(const S4DScanParams& p, int direction, const Lane<G>& lane) {
#pragma unroll
    for (int k = 0; k < K; ++k) {
      const int64_t n = lane.mode(k);
      decay_re[k] = decay_im[k] = weight_re[k] = weight_im[k] = 0.f;
      if (!lane.real_channel || n >= p.modes) continue;
      if (p.log_dt != nullptr) {
        const Discretization z(p.log_dt, p.log_A_real, p.A_imag, p.C, p.modes,
                               direction * p.channels + lane.h, n);
        decay_re[k] = z.decay.re;
        decay_im[k] = z.decay.im;
        weight_re[k] = z.weight.re;
        weight_im[k] = z.weight.im;
      } else {
        const int64_t at = (direction * p.modes + n) * p.channels + lane.h;
        decay_re[k] = p.decay_re[at];
        decay_im[k] = p.decay_im[at];
        weight_re[k] = p.weight_re[at];
        weight_im[k] = p.weight_im[at];
      }
    }
  }
};

// Where a direction's steps lie in a (B, L, H) array: step s of the direction's order at
// first + s * stride (t = s forward, L - 1 - s backward).
struct StepAddressing {
  int64_t first, stride;
  __device__ __forceinline__ StepAddressing(int direction, int64_t length, int64_t channels)
      : first(direction == 0 ? 0 : (length - 1) * channels),
        stride(direction == 0 ? channels : -channels) {}
  __device__ __forceinline__ int64_t at(int64_t step) const { return first + step * stride; }
};

// Loads the kChunk steps of chunk `chunk` (0 for steps outside [0, L), so that chunk -1 or the
// one past the end may be asked for, and for a channel past H).
template <int kChunk>
__device__ __forceinline__ void load_chunk(const float* x, const StepAddressing& steps,
                                           int64_t chunk, int64_t length, bool real_channel,
                                           float (&out)[kChunk]) {
  const int64_t first = chunk * kChunk;
  if (real_channel && first >= 0 && first + kChunk <= length) {
    const float* at = x + steps.at(first);
#pragma unroll
    for (int j = 0; j < kChunk; ++j)
      out[j] = at[j * steps.stride];
  } else {
#pragma unroll
    for (int j = 0; j < kChunk; ++j) {
      const int64_t step = first + j;
      out[j] = real_channel && step >= 0 && step < length ? x[steps.at(step)] : 0.f;
    }
  }
}

// Steps s = decay * s + x for the lane's modes and returns sum Re(weight * s) over them. The sum
// runs in up to four independent partial sums: one chain of 2 K dependent multiply-adds a step
// would leave the warp waiting on each.
template <int K>
__device__ __forceinline__ float step_modes(const LaneModes<K>& m, float x, float (&state_re)[K],
                                            float (&state_im)[K]) {
  constexpr int kPartials = K < 4 ? K : 4;
  float partial[kPartials];
#pragma unroll
  for (int i = 0; i < kPartials; ++i)
    partial[i] = 0.f;
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const float nr = fmaf(m.decay_re[k], state_re[k], fmaf(-m.decay_im[k], state_im[k], x));
    const float ni = fmaf(m.decay_re[k], state_im[k], m.decay_im[k] * state_re[k]);
    state_re[k] = nr;
    state_im[k] = ni;
    float& sum = partial[k % kPartials];
    sum = fmaf(-m.weight_im[k], ni, fmaf(m.weight_re[k], nr, sum));
  }
#pragma unroll
  for (int width = kPartials / 2; width >= 1; width /= 2) {
#pragma unroll
    for (int i = 0; i < width; ++i)
      partial[i] += partial[i + width];
  }
  return partial[0];
}

// out[b, t, h] = skip * x + (or, kAdd, out +=) the recurrence over x[b, ., h] in the direction's
// order, stepping forward (kReverse = false) or backward in that order. Both are template
// arguments: the chunk's registers are indexed by constants, and the store is one predicated
// instruction. Steps past the end have x = 0: run first (backward), they leave the state at zero;
// run last, they write nothing.
template <int K, int G, bool kReverse, bool kAdd>
__device__ __forceinline__ void run_recurrence(const S4DScanParams& p, int direction,
                                               const Lane<G>& lane, const float* x, float* out,
                                               float skip) {
  const int64_t length = p.length;
  const StepAddressing steps(direction, length, p.channels);
  const LaneModes<K> m(p, direction, lane);
  float state_re[K], state_im[K];
#pragma unroll
  for (int k = 0; k < K; ++k)
    state_re[k] = state_im[k] = 0.f;
  const int64_t chunks = (length + kScanChunk - 1) / kScanChunk;
  float current[kScanChunk];
  load_chunk(x, steps, kReverse ? chunks - 1 : 0, length, lane.real_channel, current);
  const bool writes = lane.writes();
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t chunk = kReverse ? chunks - 1 - c : c;
    float next[kScanChunk];
    load_chunk(x, steps, kReverse ? chunk - 1 : chunk + 1, length, lane.real_channel, next);
    float* chunk_out = out + steps.at(chunk * kScanChunk);
    const int64_t left = length - chunk * kScanChunk;  // steps of this chunk inside [0, L)
#pragma unroll
    for (int i = 0; i < kScanChunk; ++i) {
      const int j = kReverse ? kScanChunk - 1 - i : i;
      const float total = warp_sum<G>(step_modes(m, current[j], state_re, state_im));
      if (writes && j < left) {
        float* at = chunk_out + j * steps.stride;
        *at = kAdd ? *at + total : fmaf(skip, current[j], total);
      }
    }
#pragma unroll
    for (int j = 0; j < kScanChunk; ++j)
      current[j] = next[j];
  }
}

template <int K, int G>
__global__ void __launch_bounds__(kWarp* kWarpsPerBlock, kFwdBlocksPerSm)
    s4d_scan_fwd_kernel(S4DScanParams p) {
  const Lane<G> lane(p);
  if (!lane.active_warp) return;  // the whole warp
  const int64_t offset = lane.b * p.length * p.channels + lane.h;
  const float skip = lane.real_channel ? p.skip[lane.h] : 0.f;
  run_recurrence<K, G, /*kReverse=*/false, /*kAdd=*/false>(p, 0, lane, p.u + offset, p.y + offset,
                                                           skip);
  if (p.directions == 2) {
    run_recurrence<K, G, /*kReverse=*/false, /*kAdd=*/true>(p, 1, lane, p.u + offset, p.y + offset,
                                                            skip);
  }
}

// Parameter gradients of one direction (forward in its time order) and, for direction 0, the
// skip gradient.
template <int K, int G>
__device__ __forceinline__ void parameter_gradients(const S4DScanBwdParams& p, int direction,
                                                    const Lane<G>& lane, const float* u,
                                                    const float* grad_y) {
  const int64_t length = p.length;
  const StepAddressing steps(direction, length, p.channels);
  const LaneModes<K> m(p, direction, lane);
  float sr[K], si[K], pr[K], pi[K], gwr[K], gwi[K], qr[K], qi[K];
#pragma unroll
  for (int k = 0; k < K; ++k)
    sr[k] = si[k] = pr[k] = pi[k] = gwr[k] = gwi[k] = qr[k] = qi[k] = 0.f;
  float skip_grad = 0.f;
  const int64_t chunks = (length + kGradientChunk - 1) / kGradientChunk;
  float u_now[kGradientChunk], g_now[kGradientChunk];
  load_chunk(u, steps, 0, length, lane.real_channel, u_now);
  load_chunk(grad_y, steps, 0, length, lane.real_channel, g_now);
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    float u_next[kGradientChunk], g_next[kGradientChunk];
    load_chunk(u, steps, chunk + 1, length, lane.real_channel, u_next);
    load_chunk(grad_y, steps, chunk + 1, length, lane.real_channel, g_next);
#pragma unroll
    for (int j = 0; j < kGradientChunk; ++j) {
      // Steps past the end have x = g = 0: they change no gradient.
      const float x = u_now[j], g = g_now[j];
      skip_grad = fmaf(x, g, skip_grad);
#pragma unroll
      for (int k = 0; k < K; ++k) {
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
#pragma unroll
    for (int j = 0; j < kGradientChunk; ++j) {
      u_now[j] = u_next[j];
      g_now[j] = g_next[j];
    }
  }
  if (!lane.real_channel) return;
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const int64_t n = lane.mode(k);
    if (n >= p.modes) continue;
    const int64_t at = lane.b * p.grad_row_stride + direction * p.grad_direction_stride +
                       n * p.grad_mode_stride + lane.h * p.grad_channel_stride;
    const float wr = m.weight_re[k], wi = m.weight_im[k];
    p.grad_weight_re[at] = gwr[k];
    p.grad_weight_im[at] = gwi[k];
    p.grad_decay_re[at] = fmaf(wr, qr[k], wi * qi[k]);
    p.grad_decay_im[at] = fmaf(wr, qi[k], -wi * qr[k]);
  }
  // Every lane of the group saw all of the channel's steps.
  if (direction == 0 && lane.group_lane == 0)
    p.grad_skip[lane.b * p.grad_skip_row_stride + lane.h] = skip_grad;
}

template <int K, int G>
__global__ void __launch_bounds__(kWarp* kWarpsPerBlock, kBwdBlocksPerSm)
    s4d_scan_bwd_kernel(S4DScanBwdParams p) {
  const Lane<G> lane(p);
  if (!lane.active_warp) return;  // the whole warp
  const int64_t offset = lane.b * p.length * p.channels + lane.h;
  for (int d = 0; d < p.directions; ++d)
    parameter_gradients<K, G>(p, d, lane, p.u + offset, p.grad_y + offset);
  // The adjoint: the same recurrence over grad_y, backward in each direction's order.
  const float skip = lane.real_channel ? p.skip[lane.h] : 0.f;
  run_recurrence<K, G, /*kReverse=*/true, /*kAdd=*/false>(p, 0, lane, p.grad_y + offset,
                                                          p.grad_u + offset, skip);
  if (p.directions == 2) {
    run_recurrence<K, G, /*kReverse=*/true, /*kAdd=*/true>(p, 1, lane, p.grad_y + offset,
                                                           p.grad_u + offset, skip);
  }
}

// One warp per row, one mode per lane (and lane + 32, ...): the chain rule through the
// zero-order hold; the row's dt gradient is the sum over its modes.
__global__ void __launch_bounds__(kWarp* kWarpsPerBlock)
    s4d_discretization_bwd_kernel(S4DDiscretizationBwdParams p) {
  const int lane = threadIdx.x % kWarp;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
  if (r >= p.rows) return;  // the whole warp
  float grad_dt = 0.f;
  for (int64_t n = lane; n < p.modes; n += kWarp) {
    const int64_t at = r * p.modes + n;
    const Discretization z(p.log_dt, p.log_A_real, p.A_imag, p.C, p.modes, r, n);
    // Gradients of complex values as PyTorch writes them (d/d real part + i d/d imaginary part):
    // through a holomorphic f, grad_in = conj(f') grad_out.
    const Complex grad_weight = {p.grad_weight_re[at], p.grad_weight_im[at]};
    // weight = 2 c (decay - 1) / a
    const Complex grad_c = conj(2.f * z.decay_minus_one / z.a) * grad_weight;
    const Complex grad_decay =
        Complex{p.grad_decay_re[at], p.grad_decay_im[at]} + conj(2.f * z.c / z.a) * grad_weight;
    Complex grad_a = conj(-1.f * (z.weight / z.a)) * grad_weight;
    // decay = exp(z), z = dt a with dt real
    const Complex grad_z = conj(z.decay) * grad_decay;
    grad_a = grad_a + z.dt * grad_z;
    grad_dt = fmaf(z.a.re, grad_z.re, fmaf(z.a.im, grad_z.im, grad_dt));  // Re(conj(a) grad_z)
    // a = -exp(log_A_real) + i A_imag
    p.grad_log_A_real[at] = grad_a.re * z.a.re;
    p.grad_A_imag[at] = grad_a.im;
    p.grad_C[2 * at] = grad_c.re;
    p.grad_C[2 * at + 1] = grad_c.im;
  }
  grad_dt = warp_sum(grad_dt);
  if (lane == 0) p.grad_log_dt[r] = grad_dt * expf(p.log_dt[r]);
}

// The kernel for M modes: K modes per lane (M rounded up to a power of two up to 4; else 8, or 4
// where asked and enough), then G lanes per channel (a power of two, at most 32).
template <template <int, int> class Kernel, int K>
auto kernel_for_group(int group) {
  switch (group) {
    case 1:
      return Kernel<K, 1>::kernel;
    case 2:
      return Kernel<K, 2>::kernel;
    case 4:
      return Kernel<K, 4>::kernel;
    case 8:
      return Kernel<K, 8>::kernel;
    case 16:
      return Kernel<K, 16>::kernel;
    default:
      return Kernel<K, 32>::kernel;
  }
}
template <template <int, int> class Kernel>
auto kernel_for_modes(int64_t modes, int modes_per_lane) {
  if (modes <= 1) return std::make_pair(Kernel<1, 1>::kernel, 1);
  if (modes <= 2) return std::make_pair(Kernel<2, 1>::kernel, 1);
  if (modes <= 4) return std::make_pair(Kernel<4, 1>::kernel, 1);
  const int k = modes_per_lane == 4 && modes <= 4 * kWarp ? 4 : 8;
  int group = 1;
  while (static_cast<int64_t>(group) * k < modes)
    group *= 2;
  return std::make_pair(
      k == 4 ? kernel_for_group<Kernel, 4>(group) : kernel_for_group<Kernel, 8>(group), group);
}
template <int K, int G>
struct Forward {
  static constexpr auto kernel = &s4d_scan_fwd_kernel<K, G>;
};
template <int K, int G>
struct Backward {
  static constexpr auto kernel = &s4d_scan_bwd_kernel<K, G>;
};

template <template <int, int> class Kernel, typename Params>
cudaError_t launch(const Params& p, cudaStream_t stream) {
  if (p.batch * p.channels == 0 || p.length == 0) return cudaSuccess;
  if (p.modes < 1 || p.modes > kS4DScanMaxModes) return cudaErrorInvalidValue;
  const auto [kernel, group] = kernel_for_modes<Kernel>(p.modes, p.modes_per_lane);
  const int64_t channels_per_warp = kWarp / group;
  const int64_t warps = p.batch * ((p.channels + channels_per_warp - 1) / channels_per_warp);
  const dim3 grid(static_cast<unsigned>((warps + kWarpsPerBlock - 1) / kWarpsPerBlock));
  kernel<<<grid, kWarp * kWarpsPerBlock, 0, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace

cudaError_t s4d_scan_fwd(const S4DScanParams& p, cudaStream_t stream) {
  return launch<Forward>(p, stream);
}

cudaError_t s4d_scan_bwd(const S4DScanBwdParams& p, cudaStream_t stream) {
  return launch<Backward>(p, stream);
}

cudaError_t s4d_discretization_bwd(const S4DDiscretizationBwdParams& p, cudaStream_t stream) {
  if (p.rows == 0) return cudaSuccess;
  const dim3 grid(static_cast<unsigned>((p.rows + kWarpsPerBlock - 1) / kWarpsPerBlock));
  s4d_discretization_bwd_kernel<<<grid, kWarp * kWarpsPerBlock, 0, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace ssmkit::kernels
