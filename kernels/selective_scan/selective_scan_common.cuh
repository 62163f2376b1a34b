// Device helpers shared by the forward and backward selective-scan kernels: fast math, element
// conversion, and the (rows x time) tile moves between global and shared memory.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "selective_scan/selective_scan_params.h"

namespace ssmkit::kernels::detail {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;
// softplus(x) = x above this (as torch's softplus, threshold 20): exp(x) would only add rounding.
constexpr float kSoftplusThreshold = 20.f;
// Row stride of a (time, channel) tile in floats: one pad word, so that the transposing stores of
// the loads hit 32 different banks.
constexpr int kTileStride = kScanChannelsPerBlock + 1;
constexpr int kTileFloats = kScanChunk * kTileStride;
// Row stride of a (time, state) tile of B or C: the slab's 16 states, read as 16-byte vectors.
constexpr int kParamTileStride = kScanSlabStates;
constexpr int kParamTileFloats = kScanChunk * kParamTileStride;
constexpr unsigned kFullMask = 0xffffffffu;

// 2^x on the special-function unit (relative error ~2^-22); exponents arrive pre-scaled by log2 e.
__device__ __forceinline__ float exp2_fast(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ float softplus(float x) {
  return x <= kSoftplusThreshold ? log1pf(expf(x)) : x;
}

__device__ __forceinline__ float sigmoid(float x) {
  return 1.f / (1.f + expf(-x));
}

template <typename T>
__device__ __forceinline__ float to_float(T v);
template <>
__device__ __forceinline__ float to_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ float to_float<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
template <>
__device__ __forceinline__ float to_float<__half>(__half v) {
  return __half2float(v);
}

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}

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

__device__ __forceinline__ bool aligned16(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & 15u) == 0;
}

// Moves a (kRows x kScanChunk) tile of a row-major global array (rows at `row_stride` elements,
// time contiguous) into shared memory as (time, row) floats, in two steps so that the global loads
// can be issued one chunk ahead: load() fills registers, store_to_shared() converts and transposes.
// Rows >= n_rows and times >= seqlen read as 0.
template <typename T, int kRows>
struct TileStage {
  static constexpr int kVec = 16 / static_cast<int>(sizeof(T));
  static constexpr int kUnitsPerRow = kScanChunk / kVec;
  static constexpr int kUnits = kRows * kUnitsPerRow;
  static constexpr int kPerThread = (kUnits + kScanThreads - 1) / kScanThreads;
  static_assert(kScanChunk % kVec == 0, "a chunk must hold whole 16-byte vectors");

  uint4 raw[kPerThread];

  __device__ __forceinline__ void load(const T* base, int64_t row_stride, int n_rows, int64_t t0,
                                       int64_t seqlen) {
#pragma unroll
    for (int i = 0; i < kPerThread; ++i) {
      const int unit = static_cast<int>(threadIdx.x) + i * kScanThreads;
      raw[i] = make_uint4(0, 0, 0, 0);
      if (kUnits % kScanThreads != 0 && unit >= kUnits) continue;
      const int row = unit / kUnitsPerRow;
      const int col = (unit % kUnitsPerRow) * kVec;
      if (row >= n_rows) continue;
      const T* p = base + row * row_stride + t0 + col;
      if (t0 + col + kVec <= seqlen && aligned16(p)) {
        raw[i] = __ldg(reinterpret_cast<const uint4*>(p));
      } else {
#pragma unroll
        for (int e = 0; e < kVec; ++e) {
          if (t0 + col + e < seqlen) set_vector_element<T>(raw[i], e, p[e]);
        }
      }
    }
  }

  // Element (row, time) goes to smem[time * stride + row].
  __device__ __forceinline__ void store_to_shared(float* smem, int stride) const {
#pragma unroll
    for (int i = 0; i < kPerThread; ++i) {
      const int unit = static_cast<int>(threadIdx.x) + i * kScanThreads;
      if (kUnits % kScanThreads != 0 && unit >= kUnits) continue;
      const int row = unit / kUnitsPerRow;
      const int col = (unit % kUnitsPerRow) * kVec;
#pragma unroll
      for (int e = 0; e < kVec; ++e)
        smem[(col + e) * stride + row] = vector_element<T>(raw[i], e);
    }
  }
};

// Writes a (time, channel) float tile of shared memory to a row-major (channel, time) global array
// of T with coalesced 16-byte stores. Only rows < n_rows and times < seqlen are written.
template <typename T>
__device__ __forceinline__ void store_tile(const float* smem, T* base, int64_t row_stride,
                                           int n_rows, int64_t t0, int64_t seqlen) {
  constexpr int kVec = 16 / static_cast<int>(sizeof(T));
  constexpr int kUnitsPerRow = kScanChunk / kVec;
  constexpr int kUnits = kScanChannelsPerBlock * kUnitsPerRow;
#pragma unroll
  for (int i = 0; i < (kUnits + kScanThreads - 1) / kScanThreads; ++i) {
    const int unit = static_cast<int>(threadIdx.x) + i * kScanThreads;
    if (kUnits % kScanThreads != 0 && unit >= kUnits) continue;
    const int row = unit / kUnitsPerRow;
    const int col = (unit % kUnitsPerRow) * kVec;
    if (row >= n_rows) continue;
    T* p = base + row * row_stride + t0 + col;
    if (t0 + col + kVec <= seqlen && aligned16(p)) {
      uint4 v;
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        set_vector_element<T>(v, e, from_float<T>(smem[(col + e) * kTileStride + row]));
      }
      *reinterpret_cast<uint4*>(p) = v;
    } else {
      for (int e = 0; e < kVec; ++e) {
        if (t0 + col + e < seqlen) p[e] = from_float<T>(smem[(col + e) * kTileStride + row]);
      }
    }
  }
}

// Which block of work this is: a batch index, a tile of up to 32 channels inside one group of B
// and C, and a slab of up to 16 states; lane = channel, warp = four states.
struct ScanBlock {
  int64_t b, group, tile, slab;
  int64_t d_begin;  // first channel of the tile
  int n_channels;   // valid channels in the tile (lanes >= this idle)
  int lane, warp;
  int64_t d;        // this lane's channel
  bool channel_ok;  // lane < n_channels
  int64_t n_begin;  // first of this warp's states
  int n_slab_rows;  // valid states in the block's slab

  __device__ __forceinline__ explicit ScanBlock(const SelectiveScanFwdParams& p) {
    b = blockIdx.y;
    slab = blockIdx.z;
    group = blockIdx.x / p.tiles_per_group;
    tile = blockIdx.x % p.tiles_per_group;
    d_begin = group * p.dim_per_group + tile * kScanChannelsPerBlock;
    const int64_t left = p.dim_per_group - tile * kScanChannelsPerBlock;
    n_channels = static_cast<int>(left < kScanChannelsPerBlock ? left : kScanChannelsPerBlock);
    lane = static_cast<int>(threadIdx.x) % 32;
    warp = static_cast<int>(threadIdx.x) / 32;
    d = d_begin + lane;
    channel_ok = lane < n_channels;
    n_begin = slab * kScanSlabStates + warp * kScanStatesPerThread;
    const int64_t rows = p.dstate - slab * kScanSlabStates;
    n_slab_rows = static_cast<int>(rows < kScanSlabStates ? rows : kScanSlabStates);
  }
};

// Per-thread constants of the recurrence: A scaled by log2 e, and B, C when they are fixed (D, N).
template <bool kVarB, bool kVarC>
struct ScanWeights {
  float A2[kScanStatesPerThread];
  float B[kScanStatesPerThread];
  float C[kScanStatesPerThread];
  bool ok[kScanStatesPerThread];

  __device__ __forceinline__ void load(const SelectiveScanFwdParams& p, const ScanBlock& blk) {
#pragma unroll
    for (int s = 0; s < kScanStatesPerThread; ++s) {
      const int64_t n = blk.n_begin + s;
      ok[s] = blk.channel_ok && n < p.dstate;
      const int64_t i = blk.d * p.dstate + n;
      A2[s] = ok[s] ? p.A[i] * kLog2e : 0.f;
      if constexpr (!kVarB) B[s] = ok[s] ? static_cast<const float*>(p.B)[i] : 0.f;
      if constexpr (!kVarC) C[s] = ok[s] ? static_cast<const float*>(p.C)[i] : 0.f;
    }
  }
};

static_assert(kScanStatesPerThread == 4, "param_at reads one float4 of states per step");

// B[t] and C[t] of this warp's four states: from the staged tile when input-dependent, else the
// fixed per-channel values.
template <bool kVar>
__device__ __forceinline__ void param_at(const float* tile, int t, int warp,
                                         const float (&fixed)[kScanStatesPerThread],
                                         float (&out)[kScanStatesPerThread]) {
  if constexpr (kVar) {
    const float4 v =
        *reinterpret_cast<const float4*>(&tile[t * kParamTileStride + warp * kScanStatesPerThread]);
    out[0] = v.x;
    out[1] = v.y;
    out[2] = v.z;
    out[3] = v.w;
  } else {
#pragma unroll
    for (int s = 0; s < kScanStatesPerThread; ++s)
      out[s] = fixed[s];
  }
}

}  // namespace ssmkit::kernels::detail
