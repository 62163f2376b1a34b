// The hot loops of the fast CPU selective scan, torch-free: raw pointers and compiler vector
// extensions of the native width (16 bytes, 32 with AVX, 64 with AVX-512). Included once per
// instruction set by a selective_scan_cpu_kernel_<isa>.cpp that defines SSMKIT_SCAN_ISA; everything
// here lives in the namespace named by it, so the builds for different instruction sets never share
// a symbol (an inline function emitted by the AVX2 build must not be picked by the linker for the
// generic one). Only C library functions (exp, log1p) and always-inline intrinsics are called, no
// C++ library templates, for the same reason.
//
// Work is done chunk by chunk (kChunkLength steps): first everything that is per time step (step
// sizes, softplus, gates) for the whole chunk, vectorized over time; then the recurrence,
// vectorized over states; then the per-step outputs, vectorized over time again.
#ifndef SSMKIT_SCAN_ISA
#error "define SSMKIT_SCAN_ISA (the namespace of this build) before including this file"
#endif

#include <math.h>
#include <stdint.h>
#if defined(__SSE__)
#include <immintrin.h>  // only always-inline intrinsics: nothing here is emitted as a symbol
#endif

#define SSMKIT_KERNEL_ISA SSMKIT_SCAN_ISA
#include "selective_scan_cpu_kernel.h"
#include "vector_lanes_impl.h"

namespace ssmkit::ops::scan_cpu::SSMKIT_SCAN_ISA {

#define SSMKIT_SCAN_INLINE inline __attribute__((always_inline))

// The vector types, loads and float32 math shared with the other CPU kernels (vector_lanes_impl.h).
using kernels_cpu::SSMKIT_SCAN_ISA::exp2_lanes;
using kernels_cpu::SSMKIT_SCAN_ISA::exp_lanes;
using kernels_cpu::SSMKIT_SCAN_ISA::FloatBits;
using kernels_cpu::SSMKIT_SCAN_ISA::FloatMask;
using kernels_cpu::SSMKIT_SCAN_ISA::kWidth;
using kernels_cpu::SSMKIT_SCAN_ISA::load;
using kernels_cpu::SSMKIT_SCAN_ISA::max_lanes;
using kernels_cpu::SSMKIT_SCAN_ISA::min_lanes;
using kernels_cpu::SSMKIT_SCAN_ISA::select;
using kernels_cpu::SSMKIT_SCAN_ISA::splat;
using kernels_cpu::SSMKIT_SCAN_ISA::store;
using kernels_cpu::SSMKIT_SCAN_ISA::sum_lanes;
using kernels_cpu::SSMKIT_SCAN_ISA::Vec;
using kernels_cpu::SSMKIT_SCAN_ISA::VecOf;

// States are padded to a multiple of this: whole vectors of float and of double, and at least 8
// (the padding of the narrower builds, so a problem padded for them fits here too).
constexpr int64_t kStateBlock = 8 < kWidth<float> ? kWidth<float> : 8;
static_assert(kChunkLength % kWidth<float> == 0 && kChunkLength % kWidth<double> == 0,
              "a chunk must be a whole number of vectors");

// Largest number of vectors a state has (kMaxScanStateDim = 256 values).
template <typename T>
constexpr int kMaxVectors = 256 / kWidth<T>;

// softplus(x) = x above this, as in LibTorch's softplus (beta = 1, threshold = 20).
constexpr double kSoftplusThreshold = 20.0;

// Per-step sums of a chunk: the loops store one vector per step into `rows` (kChunkLength x
// kWidth) and reduce them all at once here, by transposing in registers, which costs a fraction of
// a horizontal sum per step. out[i] = sum of the lanes of row i, for every i < kChunkLength.
#if defined(__AVX__)
// out[0..8) = sums of the 8 rows r0..r7 of 8 floats.
SSMKIT_SCAN_INLINE __m256 sum_8_rows(__m256 r0, __m256 r1, __m256 r2, __m256 r3, __m256 r4,
                                     __m256 r5, __m256 r6, __m256 r7) {
  // hadd(hadd(r0, r1), hadd(r2, r3)) holds the sums of the low and of the high halves of rows
  // 0..3 in its two 128-bit lanes; the same for rows 4..7; the permutes line them up.
  const __m256 h0123 = _mm256_hadd_ps(_mm256_hadd_ps(r0, r1), _mm256_hadd_ps(r2, r3));
  const __m256 h4567 = _mm256_hadd_ps(_mm256_hadd_ps(r4, r5), _mm256_hadd_ps(r6, r7));
  return _mm256_add_ps(_mm256_permute2f128_ps(h0123, h4567, 0x20),
                       _mm256_permute2f128_ps(h0123, h4567, 0x31));
}
#endif

#if defined(__AVX512F__)
// A 16-float row folded to 8 floats with the same sum.
SSMKIT_SCAN_INLINE __m256 fold_row(const float* r) {
  return _mm256_add_ps(_mm256_loadu_ps(r), _mm256_loadu_ps(r + 8));
}
#endif

SSMKIT_SCAN_INLINE void sum_rows(const float* rows, float* out) {
#if defined(__AVX512F__)
  static_assert(kWidth<float> == 16, "AVX-512 rows hold 16 floats");
  for (int64_t i = 0; i < kChunkLength; i += 8) {
    const float* r = rows + i * 16;
    _mm256_storeu_ps(out + i, sum_8_rows(fold_row(r), fold_row(r + 16), fold_row(r + 32),
                                         fold_row(r + 48), fold_row(r + 64), fold_row(r + 80),
                                         fold_row(r + 96), fold_row(r + 112)));
  }
#elif defined(__AVX__)
  static_assert(kWidth<float> == 8, "AVX rows hold 8 floats");
  for (int64_t i = 0; i < kChunkLength; i += 8) {
    const float* r = rows + i * 8;
    _mm256_storeu_ps(out + i, sum_8_rows(_mm256_loadu_ps(r), _mm256_loadu_ps(r + 8),
                                         _mm256_loadu_ps(r + 16), _mm256_loadu_ps(r + 24),
                                         _mm256_loadu_ps(r + 32), _mm256_loadu_ps(r + 40),
                                         _mm256_loadu_ps(r + 48), _mm256_loadu_ps(r + 56)));
  }
#elif defined(__SSE__)
  static_assert(kWidth<float> == 4, "SSE rows hold 4 floats");
  for (int64_t i = 0; i < kChunkLength; i += 4) {
    const float* r = rows + i * 4;
    __m128 r0 = _mm_loadu_ps(r);
    __m128 r1 = _mm_loadu_ps(r + 4);
    __m128 r2 = _mm_loadu_ps(r + 8);
    __m128 r3 = _mm_loadu_ps(r + 12);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(out + i, _mm_add_ps(_mm_add_ps(r0, r1), _mm_add_ps(r2, r3)));
  }
#else
  for (int64_t i = 0; i < kChunkLength; ++i) {
    out[i] = sum_lanes(load(rows + i * kWidth<float>));
  }
#endif
}

SSMKIT_SCAN_INLINE void sum_rows(const double* rows, double* out) {
  for (int64_t i = 0; i < kChunkLength; ++i) {
    out[i] = sum_lanes(load(rows + i * kWidth<double>));
  }
}

// Zeroes rows [len, kChunkLength) so their sums are 0.
template <typename T>
SSMKIT_SCAN_INLINE void clear_rows(T* rows, int64_t len) {
  for (int64_t i = len; i < kChunkLength; ++i)
    store(rows + i * kWidth<T>, Vec<T>{});
}

// Natural log of lanes in [FLT_MIN, FLT_MAX]: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), a
// degree-9 polynomial in m - 1.
SSMKIT_SCAN_INLINE Vec<float> log_lanes(Vec<float> x) {
  using V = Vec<float>;
  using M = FloatMask;
  constexpr int kMantissaBits = 23;
  constexpr int32_t kMantissaMask = 0x007fffff;
  constexpr int32_t kHalfExponent = 0x3f000000;  // bits of 0.5: mantissa scaled to [0.5, 1)
  constexpr int32_t kExponentOfHalf = 126;
  constexpr float kSqrtHalf = 0.707106781186547524f;
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;

  const M bits = (M)x;
  M e = (bits >> kMantissaBits) - kExponentOfHalf;
  V m = (V)((bits & kMantissaMask) | kHalfExponent);
  const M small = m < kSqrtHalf;
  e = e + small;                       // small lanes: one less (mask is -1)
  m = (m - 1.0f) + (V)((M)m & small);  // small lanes: 2m - 1, others m - 1
  const V ef = __builtin_convertvector(e, V);
  const V z = m * m;
  V p = splat(7.0376836292e-2f);
  p = p * m - 1.1514610310e-1f;
  p = p * m + 1.1676998740e-1f;
  p = p * m - 1.2420140846e-1f;
  p = p * m + 1.4249322787e-1f;
  p = p * m - 1.6668057665e-1f;
  p = p * m + 2.0000714765e-1f;
  p = p * m - 2.4999993993e-1f;
  p = p * m + 3.3333331174e-1f;
  V y = p * m * z + ef * kLn2Lo - 0.5f * z;
  return m + y + ef * kLn2Hi;
}

// softplus = log1p(exp(x)); log1p(v) as log(1 + v) corrected for the rounding of 1 + v, which keeps
// full relative accuracy for tiny v.
SSMKIT_SCAN_INLINE Vec<float> softplus_lanes(Vec<float> x) {
  const Vec<float> v = exp_lanes(x);
  const Vec<float> w = v + 1.0f;
  const Vec<float> sp = log_lanes(w) - ((w - 1.0f) - v) / w;
  return select(x > float(kSoftplusThreshold), x, sp);
}

SSMKIT_SCAN_INLINE Vec<float> sigmoid_lanes(Vec<float> x) {
  return 1.0f / (1.0f + exp_lanes(-x));
}

SSMKIT_SCAN_INLINE Vec<float> softplus_slope_lanes(Vec<float> x) {
  return select(x > float(kSoftplusThreshold), splat(1.0f), sigmoid_lanes(x));
}

// The decay exp(dt * A) from dt * (A * kDecayScale): float32 works in base 2.
constexpr float kDecayScaleFloat = 1.44269504088896341f;  // log2(e)
SSMKIT_SCAN_INLINE Vec<float> decay_lanes(Vec<float> scaled_arg) {
  return exp2_lanes(scaled_arg);
}
SSMKIT_SCAN_INLINE float decay_scale(float) {
  return kDecayScaleFloat;
}

// ---- float64 math: the C library per lane (the float64 path exists for accuracy) ----

SSMKIT_SCAN_INLINE Vec<double> exp_lanes(Vec<double> x) {
  Vec<double> out;
  for (int i = 0; i < kWidth<double>; ++i)
    out[i] = exp(x[i]);
  return out;
}

SSMKIT_SCAN_INLINE Vec<double> decay_lanes(Vec<double> arg) {
  return exp_lanes(arg);
}
SSMKIT_SCAN_INLINE double decay_scale(double) {
  return 1.0;
}

SSMKIT_SCAN_INLINE Vec<double> softplus_lanes(Vec<double> x) {
  Vec<double> out;
  for (int i = 0; i < kWidth<double>; ++i) {
    out[i] = x[i] > kSoftplusThreshold ? x[i] : log1p(exp(x[i]));
  }
  return out;
}

SSMKIT_SCAN_INLINE Vec<double> sigmoid_lanes(Vec<double> x) {
  Vec<double> out;
  for (int i = 0; i < kWidth<double>; ++i)
    out[i] = 1.0 / (1.0 + exp(-x[i]));
  return out;
}

SSMKIT_SCAN_INLINE Vec<double> softplus_slope_lanes(Vec<double> x) {
  Vec<double> out;
  for (int i = 0; i < kWidth<double>; ++i) {
    out[i] = x[i] > kSoftplusThreshold ? 1.0 : 1.0 / (1.0 + exp(-x[i]));
  }
  return out;
}

// ---- per-chunk buffers ----

// dst[0, len) = src[0, len), dst[len, kChunkLength) = 0 (src may be null: all zeros).
template <typename T>
SSMKIT_SCAN_INLINE void copy_in(T* dst, const T* src, int64_t len) {
  int64_t i = 0;
  if (src != nullptr) {
    for (; i < len; ++i)
      dst[i] = src[i];
  }
  for (; i < kChunkLength; ++i)
    dst[i] = T(0);
}

template <typename T>
SSMKIT_SCAN_INLINE void copy_out(T* dst, const T* src, int64_t len) {
  for (int64_t i = 0; i < len; ++i)
    dst[i] = src[i];
}

// The per-step values of one chunk, over all kChunkLength steps (those past the end of the
// sequence are computed from zeros and never used).
template <typename T>
struct ChunkSteps {
  alignas(64) T u[kChunkLength];
  alignas(64) T raw[kChunkLength];  // delta + delta_bias
  alignas(64) T dt[kChunkLength];   // step size
  alignas(64) T dtu[kChunkLength];  // dt * u

  void load_chunk(const T* delta_src, const T* u_src, T bias, bool softplus, int64_t len) {
    copy_in(u, u_src, len);
    copy_in(raw, delta_src, len);
    for (int64_t i = 0; i < kChunkLength; i += kWidth<T>) {
      const Vec<T> r = load(raw + i) + bias;
      const Vec<T> step = softplus ? softplus_lanes(r) : r;
      store(raw + i, r);
      store(dt + i, step);
      store(dtu + i, step * load(u + i));
    }
  }
};

// Loads a state of n values (src null: zeros) into vectors, zero-padding the last one.
template <typename T, int kArr>
SSMKIT_SCAN_INLINE void load_state(Vec<T> (&dst)[kArr], const T* src, int64_t n, int64_t vectors) {
  for (int64_t k = 0; k < vectors; ++k) {
    Vec<T> v = {};
    for (int64_t i = 0; i < kWidth<T>; ++i) {
      const int64_t idx = k * kWidth<T> + i;
      if (src != nullptr && idx < n) v[i] = src[idx];
    }
    dst[k] = v;
  }
}

template <typename T, int kArr>
SSMKIT_SCAN_INLINE void store_state(T* dst, const Vec<T> (&src)[kArr], int64_t n) {
  for (int64_t idx = 0; idx < n; ++idx)
    dst[idx] = src[idx / kWidth<T>][idx % kWidth<T>];
}

// Forward over channels [begin, end) of (batch * D + channel). kVectors > 0 fixes the number of
// state vectors at compile time so the state stays in registers; 0 reads it from the problem.
template <typename T, int kVectors>
void forward_range(const ScanProblem<T>& p, const ForwardResults<T>& r, int64_t begin,
                   int64_t end) {
  using V = Vec<T>;
  constexpr int W = kWidth<T>;
  constexpr int kArr = kVectors > 0 ? kVectors : kMaxVectors<T>;
  const int64_t L = p.seqlen;
  const int64_t Np = p.padded_dstate;
  const int64_t vectors = kVectors > 0 ? kVectors : Np / W;
  V A_scaled[kArr];  // A * decay_scale: the decay is decay_lanes(dt * A_scaled)
  V x[kArr];
  ChunkSteps<T> steps;
  alignas(64) T rows[kChunkLength * kWidth<T>];  // per step: C * x, lane by lane
  alignas(64) T y[kChunkLength];
  alignas(64) T gate[kChunkLength];
  for (int64_t bd = begin; bd < end; ++bd) {
    const int64_t b = bd / p.dim;
    const int64_t d = bd % p.dim;
    const T bias = p.delta_bias != nullptr ? p.delta_bias[d] : T(0);
    const T skip = p.D != nullptr ? p.D[d] : T(0);
    const T* Bc = p.B.channel(b, d, p.channels_per_group);
    const T* Cc = p.C.channel(b, d, p.channels_per_group);
    const int64_t Bs = p.B.time_stride;
    const int64_t Cs = p.C.time_stride;
    for (int64_t k = 0; k < vectors; ++k) {
      A_scaled[k] = load(p.A + d * Np + k * W) * decay_scale(T());
    }
    load_state(x, p.initial_state != nullptr ? p.initial_state + bd * p.dstate : nullptr, p.dstate,
               vectors);

    for (int64_t c = 0; c < p.n_chunks; ++c) {
      const int64_t t0 = c * kChunkLength;
      const int64_t len = L - t0 < kChunkLength ? L - t0 : kChunkLength;
      if (r.checkpoints != nullptr) {
        T* kept = r.checkpoints + (bd * p.n_chunks + c) * Np;
        for (int64_t k = 0; k < vectors; ++k)
          store(kept + k * W, x[k]);
      }
      steps.load_chunk(p.delta + bd * L + t0, p.u + bd * L + t0, bias, p.delta_softplus, len);

      for (int64_t i = 0; i < len; ++i) {
        const T dt = steps.dt[i];
        const T dtu = steps.dtu[i];
        const T* Bt = Bc + (t0 + i) * Bs;
        const T* Ct = Cc + (t0 + i) * Cs;
        V acc = {};
        for (int64_t k = 0; k < vectors; ++k) {
          const V a = decay_lanes(dt * A_scaled[k]);
          x[k] = a * x[k] + dtu * load(Bt + k * W);
          acc += x[k] * load(Ct + k * W);
        }
        store(rows + i * W, acc);
      }
      clear_rows(rows, len);
      sum_rows(rows, y);

      if (p.z != nullptr) copy_in(gate, p.z + bd * L + t0, len);
      for (int64_t i = 0; i < kChunkLength; i += W) {
        V out = load(y + i) + skip * load(steps.u + i);
        if (p.z != nullptr) {
          const V zv = load(gate + i);
          out *= zv * sigmoid_lanes(zv);
        }
        store(y + i, out);
      }
      copy_out(r.y + bd * L + t0, y, len);
    }
    if (r.last_state != nullptr) store_state(r.last_state + bd * p.dstate, x, p.dstate);
  }
}

// Backward over channels [begin, end): per chunk, last to first, recompute the chunk's states
// from its checkpoint into scratch, then walk it backwards carrying dL/dx.
template <typename T, int kVectors>
void backward_range(const ScanProblem<T>& p, const BackwardSeeds<T>& s, const BackwardResults<T>& r,
                    int64_t begin, int64_t end, T* scratch) {
  using V = Vec<T>;
  constexpr int W = kWidth<T>;
  constexpr int kArr = kVectors > 0 ? kVectors : kMaxVectors<T>;
  const int64_t L = p.seqlen;
  const int64_t Np = p.padded_dstate;
  const int64_t vectors = kVectors > 0 ? kVectors : Np / W;
  T* states = scratch;                     // (kChunkLength, Np): x[t] of the chunk
  T* decays = states + kChunkLength * Np;  // (kChunkLength, Np): exp(dt[t] * A)
  ChunkSteps<T> steps;
  alignas(64) T ungated[kChunkLength];  // y before the gate
  alignas(64) T dy[kChunkLength];       // dL/d(ungated y)
  alignas(64) T zc[kChunkLength];
  alignas(64) T through_a[kChunkLength];  // per step: sum over n of dL/dx * A * a * x[t-1]
  alignas(64) T through_b[kChunkLength];  // per step: sum over n of dL/dx * B
  alignas(64) T out[kChunkLength];
  alignas(64) T rows_y[kChunkLength * kWidth<T>];  // per step, lane by lane: C * x
  alignas(64) T rows_a[kChunkLength * kWidth<T>];  // dL/dx * A * a * x[t-1]
  alignas(64) T rows_b[kChunkLength * kWidth<T>];  // dL/dx * B
  V A[kArr];
  V A_scaled[kArr];
  V h[kArr];  // dL/dx[t], then a[t] * dL/dx[t]: the part of dL/dx[t-1] that flows through x[t]
  V dA[kArr];
  V x[kArr];
  for (int64_t bd = begin; bd < end; ++bd) {
    const int64_t b = bd / p.dim;
    const int64_t d = bd % p.dim;
    const T bias = p.delta_bias != nullptr ? p.delta_bias[d] : T(0);
    const T skip = p.D != nullptr ? p.D[d] : T(0);
    const int64_t cpg = p.channels_per_group;
    const T* Bc = p.B.channel(b, d, cpg);
    const T* Cc = p.C.channel(b, d, cpg);
    T* dBc = r.dB.channel(b, d, cpg);
    T* dCc = r.dC.channel(b, d, cpg);
    const int64_t Bs = p.B.time_stride;
    const int64_t Cs = p.C.time_stride;
    const int64_t dBs = r.dB.time_stride;
    const int64_t dCs = r.dC.time_stride;
    for (int64_t k = 0; k < vectors; ++k) {
      A[k] = load(p.A + d * Np + k * W);
      A_scaled[k] = A[k] * decay_scale(T());
      dA[k] = V{};
    }
    load_state(h, s.grad_last_state != nullptr ? s.grad_last_state + bd * p.dstate : nullptr,
               p.dstate, vectors);
    V dskip = {};
    V dbias = {};

    for (int64_t c = p.n_chunks - 1; c >= 0; --c) {
      const int64_t t0 = c * kChunkLength;
      const int64_t len = L - t0 < kChunkLength ? L - t0 : kChunkLength;
      const int64_t o = bd * L + t0;  // offset of the chunk in (B, D, L) arrays
      const T* first = s.checkpoints + (bd * p.n_chunks + c) * Np;
      steps.load_chunk(p.delta + o, p.u + o, bias, p.delta_softplus, len);

      // Recompute the chunk's states (and, for the gate's gradient, its ungated outputs).
      const bool gated = p.z != nullptr;
      for (int64_t k = 0; k < vectors; ++k)
        x[k] = load(first + k * W);
      for (int64_t i = 0; i < len; ++i) {
        const T dt = steps.dt[i];
        const T dtu = steps.dtu[i];
        const T* Bt = Bc + (t0 + i) * Bs;
        const T* Ct = Cc + (t0 + i) * Cs;
        V acc = {};
        for (int64_t k = 0; k < vectors; ++k) {
          const V a = decay_lanes(dt * A_scaled[k]);
          x[k] = a * x[k] + dtu * load(Bt + k * W);
          store(decays + i * Np + k * W, a);
          store(states + i * Np + k * W, x[k]);
          if (gated) acc += x[k] * load(Ct + k * W);
        }
        if (gated) store(rows_y + i * W, acc);
      }
      if (gated) {
        clear_rows(rows_y, len);
        sum_rows(rows_y, ungated);
      }

      // Through the gate: dy = dL/dout * silu(z), dz = dL/dout * ungated * silu'(z).
      copy_in(dy, s.grad_y != nullptr ? s.grad_y + o : nullptr, len);
      if (gated) {
        copy_in(zc, p.z + o, len);
        for (int64_t i = 0; i < kChunkLength; i += W) {
          const V zv = load(zc + i);
          const V sig = sigmoid_lanes(zv);
          const V g = load(dy + i);
          const V y = load(ungated + i) + skip * load(steps.u + i);
          store(out + i, g * y * sig * (T(1) + zv * (T(1) - sig)));
          store(dy + i, g * zv * sig);
        }
        copy_out(r.dz + o, out, len);
      }

      for (int64_t i = len - 1; i >= 0; --i) {
        const T dyi = dy[i];
        const T dt = steps.dt[i];
        const T dtu = steps.dtu[i];
        const T* prev = i > 0 ? states + (i - 1) * Np : first;
        const T* cur = states + i * Np;
        const T* a_t = decays + i * Np;
        const T* Bt = Bc + (t0 + i) * Bs;
        const T* Ct = Cc + (t0 + i) * Cs;
        T* dBt = dBc + (t0 + i) * dBs;
        T* dCt = dCc + (t0 + i) * dCs;
        V sum_a = {};
        V sum_b = {};
        for (int64_t k = 0; k < vectors; ++k) {
          const int64_t n = k * W;
          const V hk = h[k] + dyi * load(Ct + n);
          const V a = load(a_t + n);
          store(dCt + n, load(dCt + n) + dyi * load(cur + n));
          const V q = hk * a * load(prev + n);
          dA[k] += dt * q;
          sum_a += A[k] * q;
          sum_b += hk * load(Bt + n);
          store(dBt + n, load(dBt + n) + dtu * hk);
          h[k] = a * hk;
        }
        store(rows_a + i * W, sum_a);
        store(rows_b + i * W, sum_b);
      }
      clear_rows(rows_a, len);
      clear_rows(rows_b, len);
      sum_rows(rows_a, through_a);
      sum_rows(rows_b, through_b);

      // du = dt * sum(dL/dx * B) + D * dy; d delta = (sum(dL/dx * A a x[t-1]) + u * sum(dL/dx * B))
      // * d dt / d delta.
      for (int64_t i = 0; i < kChunkLength; i += W) {
        const V uv = load(steps.u + i);
        const V tb = load(through_b + i);
        const V dyv = load(dy + i);
        store(out + i, load(steps.dt + i) * tb + skip * dyv);
        dskip += dyv * uv;
      }
      copy_out(r.du + o, out, len);
      for (int64_t i = 0; i < kChunkLength; i += W) {
        V g = load(through_a + i) + load(steps.u + i) * load(through_b + i);
        if (p.delta_softplus) g *= softplus_slope_lanes(load(steps.raw + i));
        store(out + i, g);
        dbias += g;
      }
      copy_out(r.ddelta + o, out, len);
    }

    if (r.dinitial_state != nullptr) store_state(r.dinitial_state + bd * p.dstate, h, p.dstate);
    for (int64_t k = 0; k < vectors; ++k) {
      T* row = r.dA + d * Np + k * W;
      store(row, load(row) + dA[k]);
    }
    if (r.dD != nullptr) r.dD[d] += sum_lanes(dskip);
    if (r.ddelta_bias != nullptr) r.ddelta_bias[d] += sum_lanes(dbias);
  }
}

// Picks the instantiation whose vector count matches the problem.
template <typename T>
void forward(const ScanProblem<T>& p, const ForwardResults<T>& r, int64_t begin, int64_t end) {
  switch (p.padded_dstate / kWidth<T>) {
    case 1:
      return forward_range<T, 1>(p, r, begin, end);
    case 2:
      return forward_range<T, 2>(p, r, begin, end);
    case 4:
      return forward_range<T, 4>(p, r, begin, end);
    case 8:
      return forward_range<T, 8>(p, r, begin, end);
    default:
      return forward_range<T, 0>(p, r, begin, end);
  }
}

template <typename T>
void backward(const ScanProblem<T>& p, const BackwardSeeds<T>& s, const BackwardResults<T>& r,
              int64_t begin, int64_t end, T* scratch) {
  switch (p.padded_dstate / kWidth<T>) {
    case 1:
      return backward_range<T, 1>(p, s, r, begin, end, scratch);
    case 2:
      return backward_range<T, 2>(p, s, r, begin, end, scratch);
    case 4:
      return backward_range<T, 4>(p, s, r, begin, end, scratch);
    case 8:
      return backward_range<T, 8>(p, s, r, begin, end, scratch);
    default:
      return backward_range<T, 0>(p, s, r, begin, end, scratch);
  }
}

#undef SSMKIT_SCAN_INLINE

}  // namespace ssmkit::ops::scan_cpu::SSMKIT_SCAN_ISA
