// Vector types of the native width (16 bytes, 32 with AVX, 64 with AVX-512), their loads and
// stores, and float32 math on whole vectors (exp to about 2 ulp), shared by the CPU kernels that
// are built once per instruction set. A kernel file defines SSMKIT_KERNEL_ISA (the namespace of its
// build: generic, avx2, avx512) before including this, and everything here lives in
// ssmkit::kernels_cpu::SSMKIT_KERNEL_ISA, so the builds for different instruction sets never share
// a symbol (an inline function emitted by the AVX2 build must not be picked by the linker for the
// generic one). Only always-inline functions and intrinsics, no C++ library templates, for the same
// reason.
#ifndef SSMKIT_KERNEL_ISA
#error "define SSMKIT_KERNEL_ISA (the namespace of this build) before including this file"
#endif

#include <stdint.h>
#if defined(__SSE__)
#include <immintrin.h>  // only always-inline intrinsics: nothing here is emitted as a symbol
#endif

#include "native_vector.h"

// GCC 12 warns that the AVX-512 intrinsics' deliberately undefined pass-through operand may be
// used uninitialized (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace ssmkit::kernels_cpu::SSMKIT_KERNEL_ISA {

#define SSMKIT_LANES_INLINE inline __attribute__((always_inline))

constexpr int kVectorBytes = kernels_cpu::kNativeVectorBytes;

template <typename T>
constexpr int kWidth = kVectorBytes / static_cast<int>(sizeof(T));

template <typename T, int W>
struct VecOf {
  typedef T type __attribute__((vector_size(W * sizeof(T))));
};
template <typename T>
using Vec = typename VecOf<T, kWidth<T>>::type;
using FloatMask = VecOf<int32_t, kWidth<float>>::type;   // comparison results: all ones or zero
using FloatBits = VecOf<uint32_t, kWidth<float>>::type;  // bit manipulation

template <typename T>
SSMKIT_LANES_INLINE Vec<T> load(const T* p) {
  Vec<T> v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
SSMKIT_LANES_INLINE void store(T* p, Vec<T> v) {
  __builtin_memcpy(p, &v, sizeof v);
}

template <typename T>
SSMKIT_LANES_INLINE Vec<T> splat(T s) {
  return Vec<T>{} + s;
}

// Sum of the W lanes of v, by halving.
template <typename T, int W>
SSMKIT_LANES_INLINE T sum_halves(typename VecOf<T, W>::type v) {
  if constexpr (W == 2) {
    return v[0] + v[1];
  } else {
    typedef typename VecOf<T, W / 2>::type Half;
    Half lo;
    Half hi;
    __builtin_memcpy(&lo, &v, sizeof lo);
    __builtin_memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
    return sum_halves<T, W / 2>(lo + hi);
  }
}

SSMKIT_LANES_INLINE float sum_lanes(Vec<float> v) {
  return sum_halves<float, kWidth<float>>(v);
}
SSMKIT_LANES_INLINE double sum_lanes(Vec<double> v) {
  return sum_halves<double, kWidth<double>>(v);
}

SSMKIT_LANES_INLINE Vec<float> select(FloatMask mask, Vec<float> yes, Vec<float> no) {
  return (Vec<float>)(((FloatMask)yes & mask) | ((FloatMask)no & ~mask));
}

// ---- float32 math, vectorized, to about 2 ulp (Cephes' polynomials) ----

// Lane-wise min and max with the hardware instruction (one operation where a compare-and-select
// takes two); a NaN in `x` is kept.
SSMKIT_LANES_INLINE Vec<float> min_lanes(Vec<float> bound, Vec<float> x) {
#if defined(__AVX512F__)
  return _mm512_min_ps(bound, x);
#elif defined(__AVX__)
  return _mm256_min_ps(bound, x);
#elif defined(__SSE__)
  return _mm_min_ps(bound, x);
#else
  return select(x > bound, bound, x);
#endif
}

SSMKIT_LANES_INLINE Vec<float> max_lanes(Vec<float> bound, Vec<float> x) {
#if defined(__AVX512F__)
  return _mm512_max_ps(bound, x);
#elif defined(__AVX__)
  return _mm256_max_ps(bound, x);
#elif defined(__SSE__)
  return _mm_max_ps(bound, x);
#else
  return select(x < bound, bound, x);
#endif
}

// 2^t of every lane: t = n + f with integer n and f in [-1/2, 1/2], 2^f by a degree-6 minimax
// polynomial (relative error 2e-9, 8e-8 after float rounding), 2^n added to the exponent bits.
// t is clamped to [-125, 127]: results below 2^-125 (2e-38) come out as 2^-125, which keeps
// denormals out of the recurrence at an absolute error no float sum can see; results above 2^127
// are clamped (a state that large has blown up anyway).
SSMKIT_LANES_INLINE Vec<float> exp2_lanes(Vec<float> t) {
  using V = Vec<float>;
  using Bits = FloatBits;
  constexpr float kMinArg = -125.0f;
  constexpr float kMaxArg = 127.0f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  constexpr int kMantissaBits = 23;

  t = max_lanes(splat(kMinArg), min_lanes(splat(kMaxArg), t));
  const V shifted = t + kRound;  // n in the low mantissa bits
  const V f = t - (shifted - kRound);
  V p = splat(1.535335886e-4f);
  p = p * f + 1.339887446e-3f;
  p = p * f + 9.618437370e-3f;
  p = p * f + 5.550332471e-2f;
  p = p * f + 2.402264791e-1f;
  p = p * f + 6.931472029e-1f;
  p = p * f + 1.0f;
  // p is in [2^-1/2, 2^1/2]; shifting the bits of `shifted` by 23 leaves n << 23 (the bits of
  // 1.5 * 2^23 shift out), which added to p's bits multiplies it by 2^n. A NaN stays NaN.
  return (V)((Bits)p + ((Bits)shifted << kMantissaBits));
}

SSMKIT_LANES_INLINE Vec<float> exp_lanes(Vec<float> x) {
  constexpr float kLog2e = 1.44269504088896341f;
  return exp2_lanes(x * kLog2e);
}

}  // namespace ssmkit::kernels_cpu::SSMKIT_KERNEL_ISA
