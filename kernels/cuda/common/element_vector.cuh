// Elements of the kernels' types (float32, bfloat16, float16) moved as 16- or 8-byte vectors:
// bit access to a vector's elements, and loads and stores of a few consecutive elements as floats
// that use whole vectors where the address and the count allow. Shared by every kernel family.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "common/element_convert.cuh"

namespace ssmkit::kernels::detail {

// Bits of one element; 16-byte vectors are handled as uint4 so that a load in flight holds plain
// registers until its first use.
template <typename T>
__device__ __forceinline__ uint32_t bits_of(T v);
template <>
__device__ __forceinline__ uint32_t bits_of<float>(float v) {
  return __float_as_uint(v);
}
template <>
__device__ __forceinline__ uint32_t bits_of<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat16_as_ushort(v);
}
template <>
__device__ __forceinline__ uint32_t bits_of<__half>(__half v) {
  return __half_as_ushort(v);
}

template <typename T>
__device__ __forceinline__ float float_from_bits(uint32_t bits);
template <>
__device__ __forceinline__ float float_from_bits<float>(uint32_t bits) {
  return __uint_as_float(bits);
}
template <>
__device__ __forceinline__ float float_from_bits<__nv_bfloat16>(uint32_t bits) {
  return __uint_as_float(bits << 16);
}
template <>
__device__ __forceinline__ float float_from_bits<__half>(uint32_t bits) {
  return __half2float(__ushort_as_half(static_cast<unsigned short>(bits)));
}

__device__ __forceinline__ uint32_t& word_of(uint4& v, int w) {
  return w == 0 ? v.x : w == 1 ? v.y : w == 2 ? v.z : v.w;
}
__device__ __forceinline__ uint32_t word_of(const uint4& v, int w) {
  return w == 0 ? v.x : w == 1 ? v.y : w == 2 ? v.z : v.w;
}

// Element e of a 16-byte vector of T, as float. e is a compile-time constant after unrolling.
template <typename T>
__device__ __forceinline__ float vector_element(const uint4& v, int e) {
  if constexpr (sizeof(T) == 4) {
    return float_from_bits<T>(word_of(v, e));
  } else {
    return float_from_bits<T>((word_of(v, e / 2) >> (16 * (e % 2))) & 0xffffu);
  }
}

template <typename T>
__device__ __forceinline__ void set_vector_element(uint4& v, int e, T value) {
  if constexpr (sizeof(T) == 4) {
    word_of(v, e) = bits_of<T>(value);
  } else {
    uint32_t& w = word_of(v, e / 2);
    const int shift = 16 * (e % 2);
    w = (w & ~(0xffffu << shift)) | (bits_of<T>(value) << shift);
  }
}

template <int kBytes>
__device__ __forceinline__ bool aligned_to(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & (kBytes - 1)) == 0;
}

// Stores the first `count` of kN floats to dst as OutT: whole 16- or 8-byte stores when all kN
// fit and dst is aligned, else element by element.
template <typename OutT, int kN>
__device__ __forceinline__ void store_values(OutT* dst, const float (&v)[kN], int64_t count) {
  constexpr int kBytes = kN * static_cast<int>(sizeof(OutT));
  constexpr int kPiece = kBytes % 16 == 0 ? 16 : kBytes % 8 == 0 ? 8 : 0;
  if constexpr (kPiece > 0) {
    if (count >= kN && aligned_to<kPiece>(dst)) {
      constexpr int kPer = kPiece / static_cast<int>(sizeof(OutT));
#pragma unroll
      for (int piece = 0; piece < kN / kPer; ++piece) {
        uint4 w = make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int e = 0; e < kPer; ++e) {
          set_vector_element<OutT>(w, e, from_float<OutT>(v[piece * kPer + e]));
        }
        if constexpr (kPiece == 16) {
          reinterpret_cast<uint4*>(dst)[piece] = w;
        } else {
          reinterpret_cast<uint2*>(dst)[piece] = make_uint2(w.x, w.y);
        }
      }
      return;
    }
  }
#pragma unroll
  for (int e = 0; e < kN; ++e) {
    if (e < count) dst[e] = from_float<OutT>(v[e]);
  }
}

// Loads kN consecutive elements from src as floats, 0 past the first `count`: whole 16-byte loads
// when all kN are in range and src is aligned, else element by element.
template <typename T, int kN>
__device__ __forceinline__ void load_values(const T* src, int64_t count, float (&out)[kN]) {
  constexpr int kBytes = kN * static_cast<int>(sizeof(T));
  constexpr int kPer = 16 / static_cast<int>(sizeof(T));
  if constexpr (kBytes % 16 == 0) {
    if (count >= kN && aligned_to<16>(src)) {
#pragma unroll
      for (int piece = 0; piece < kN / kPer; ++piece) {
        const uint4 v = reinterpret_cast<const uint4*>(src)[piece];
#pragma unroll
        for (int e = 0; e < kPer; ++e)
          out[piece * kPer + e] = vector_element<T>(v, e);
      }
      return;
    }
  }
#pragma unroll
  for (int e = 0; e < kN; ++e)
    out[e] = e < count ? to_float<T>(src[e]) : 0.f;
}

}  // namespace ssmkit::kernels::detail
