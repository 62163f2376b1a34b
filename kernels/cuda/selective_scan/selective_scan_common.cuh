// Device helpers shared by the forward and backward selective-scan kernels: fast math, element
// conversion, and the (rows x time) tile moves between global and shared memory.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "common/element_convert.cuh"
#include "common/element_vector.cuh"
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
// B and C of a chunk are staged together as a (time, 2 x 16) float tile. Per time step, each
// warp's S states hold their S values of B, then their S values of C: at S = 2 a warp reads both
// B[t] and C[t] of its states in one 16-byte broadcast (two reads were a fifth of the forward's
// shared-memory traffic), at S = 4 in two.
constexpr int kBcTileStride = 2 * kScanSlabStates;
constexpr int kBcTileFloats = kScanChunk * kBcTileStride;
enum class BcPart { kB = 0, kC = 1 };
constexpr unsigned kFullMask = 0xffffffffu;

// 2^x on the special-function unit (relative error ~2^-22); exponents arrive pre-scaled by log2 e.
__device__ __forceinline__ float exp2_fast(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// log2 x on the special-function unit (absolute error ~2^-22).
__device__ __forceinline__ float log2_fast(float x) {
  float y;
  asm("lg2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Below this e = exp(x), log1p(e) is taken as e (1 - e/2): log2(1 + e) would lose e's low bits
// to the rounding of 1 + e. The series' relative error there is at most e^2/3 = 3e-5.
constexpr float kSoftplusSeriesBelow = 1e-2f;

// softplus(x) = log(1 + e^x), per (channel, time) element. kFast is for 16-bit inputs, whose own
// rounding (2^-9 for bf16, 2^-12 for fp16) is far above the fast path's ~2e-5 relative error: two
// special-function operations instead of the library's exp and log1p (about 30 instructions).
// Float32 inputs keep log1pf, with the special-function exp (relative error ~1e-6 up to x = 20).
template <bool kFast>
__device__ __forceinline__ float softplus(float x) {
  const float e = exp2_fast(x * kLog2e);
  float r;
  if constexpr (kFast) {
    r = e < kSoftplusSeriesBelow ? e * fmaf(-0.5f, e, 1.f) : log2_fast(1.f + e) * kLn2;
  } else {
    r = log1pf(e);
  }
  return x <= kSoftplusThreshold ? r : x;
}

// 1 / (1 + e^-x); kFast as for softplus (approximate reciprocal).
template <bool kFast>
__device__ __forceinline__ float sigmoid(float x) {
  if constexpr (kFast) {
    return __fdividef(1.f, 1.f + exp2_fast(-x * kLog2e));
  } else {
    return 1.f / (1.f + expf(-x));
  }
}

// Whether elements of type T take the fast softplus and sigmoid.
template <typename T>
constexpr bool kFastMathFor = !std::is_same_v<T, float>;

// Asynchronous global -> shared copy of 16 bytes (bypassing L1: every input is read once) or 8.
template <int kBytes>
__device__ __forceinline__ void cp_async(void* smem_dst, const void* gmem_src) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
  if constexpr (kBytes == 16) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(gmem_src));
  } else {
    static_assert(kBytes == 8, "16- or 8-byte copies");
    asm volatile("cp.async.ca.shared.global [%0], [%1], 8;\n" ::"r"(dst), "l"(gmem_src));
  }
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
// Waits until at most kPending of this thread's committed copy groups are still in flight.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// A (kRows x kScanChunk) tile of a row-major global array (rows `row_stride` elements apart, time
// contiguous), staged raw in shared memory as 16-byte units (8-byte ones when 16-byte units would
// leave threads without one), unit-major. Thread kFirstThread + j owns units j, j + kThreads, ...:
// it copies them in and is the only one to read them (so a wait on its own copies is enough, no
// barrier), converting to float as it goes. Threads below kFirstThread take no part (in a
// warp-specialised kernel they do other work).
template <typename T, int kRows, int kThreads, int kFirstThread = 0>
struct RawTile {
  static constexpr int kTileBytes = kRows * kScanChunk * static_cast<int>(sizeof(T));
  static constexpr int kUnitBytes = kTileBytes / 16 >= kThreads ? 16 : 8;
  static constexpr int kVec = kUnitBytes / static_cast<int>(sizeof(T));
  static constexpr int kUnitsPerRow = kScanChunk / kVec;
  static constexpr int kUnits = kRows * kUnitsPerRow;
  static constexpr int kPerThread = (kUnits + kThreads - 1) / kThreads;
  static constexpr int kSmemVec4s = kUnits * kUnitBytes / 16;  // size in 16-byte words
  using Unit = std::conditional_t<kUnitBytes == 16, uint4, uint2>;
  static_assert(kScanChunk % kVec == 0, "a chunk must hold whole units");
  static_assert(32 % kUnitsPerRow == 0, "a row's units must sit in one warp");

  __device__ static __forceinline__ int unit(int i) {
    return static_cast<int>(threadIdx.x) - kFirstThread + i * kThreads;
  }
  __device__ static __forceinline__ bool owns(int i) {
    return kUnits % kThreads == 0 || unit(i) < kUnits;
  }
  __device__ static __forceinline__ int row(int i) { return unit(i) / kUnitsPerRow; }
  __device__ static __forceinline__ int col(int i) { return (unit(i) % kUnitsPerRow) * kVec; }
  __device__ static __forceinline__ Unit* at(uint4* raw, int i) {
    return reinterpret_cast<Unit*>(raw) + unit(i);
  }

  // Where this thread's units of one input come from, worked out once before the chunk loop (row
  // offsets, range and alignment: a chunk moves the source by whole 16-byte units), so that
  // starting a chunk's copy costs an add and a compare per unit. Rows >= n_rows and times >=
  // seqlen read as 0.
  struct Source {
    const T* src[kPerThread];  // the unit at t0 = 0, or null past the last row
    bool aligned[kPerThread];  // whole-unit copies possible
    int64_t seqlen;

    __device__ __forceinline__ Source(const T* base, int64_t row_stride, int n_rows,
                                      int64_t length) {
      static_assert(kScanChunk * sizeof(T) % kUnitBytes == 0, "chunks keep units aligned");
      seqlen = length;
#pragma unroll
      for (int i = 0; i < kPerThread; ++i) {
        const bool in_rows = owns(i) && row(i) < n_rows;
        src[i] = in_rows ? base + row(i) * row_stride + col(i) : nullptr;
        aligned[i] = in_rows && aligned_to<kUnitBytes>(src[i]);
      }
    }

    // Starts the copy of this thread's units of the chunk at t0: asynchronous where the unit is
    // in range and aligned, else element by element.
    __device__ __forceinline__ void start(uint4* raw, int64_t t0) const {
      // Every chunk but the last lies wholly inside the sequence: no per-unit range check.
      const bool interior = t0 + kScanChunk <= seqlen;
#pragma unroll
      for (int i = 0; i < kPerThread; ++i) {
        if (!owns(i)) continue;
        Unit* dst = at(raw, i);
        if (interior && aligned[i]) {
          cp_async<kUnitBytes>(dst, src[i] + t0);
          continue;
        }
        const int64_t left = seqlen - t0 - col(i);  // steps of the unit inside the sequence
        if (src[i] == nullptr || left <= 0) {
          *dst = Unit{};
        } else if (aligned[i] && left >= kVec) {
          cp_async<kUnitBytes>(dst, src[i] + t0);
        } else {
          uint4 v = make_uint4(0, 0, 0, 0);
          for (int e = 0; e < kVec; ++e) {
            if (e < left) set_vector_element<T>(v, e, src[i][t0 + e]);
          }
          if constexpr (kUnitBytes == 16) {
            *dst = v;
          } else {
            *dst = make_uint2(v.x, v.y);
          }
        }
      }
    }
  };

  // The copy of one chunk without a prepared Source (it is worked out on the spot).
  __device__ static __forceinline__ void start(uint4* raw, const T* base, int64_t row_stride,
                                               int n_rows, int64_t t0, int64_t seqlen) {
    Source(base, row_stride, n_rows, seqlen).start(raw, t0);
  }

  // This thread's unit i as floats.
  __device__ static __forceinline__ void read(uint4* raw, int i, float (&out)[kVec]) {
    const Unit u = *at(raw, i);
    uint4 v;
    if constexpr (kUnitBytes == 16) {
      v = u;
    } else {
      v = make_uint4(u.x, u.y, 0, 0);
    }
#pragma unroll
    for (int e = 0; e < kVec; ++e)
      out[e] = vector_element<T>(v, e);
  }

  // Writes this thread's units transposed into a (time, column) float tile:
  // tile[t * stride + column_of(row)].
  template <typename ColumnOf>
  __device__ static __forceinline__ void transpose_to(uint4* raw, float* tile, int stride,
                                                      ColumnOf column_of) {
#pragma unroll
    for (int i = 0; i < kPerThread; ++i) {
      if (!owns(i)) continue;
      float v[kVec];
      read(raw, i, v);
      const int column = column_of(row(i));
#pragma unroll
      for (int e = 0; e < kVec; ++e)
        tile[(col(i) + e) * stride + column] = v[e];
    }
  }
};

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

  __device__ __forceinline__ ScanBlock(const SelectiveScanFwdParams& p, int states_per_thread) {
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
    n_begin = slab * kScanSlabStates + warp * states_per_thread;
    const int64_t rows = p.dstate - slab * kScanSlabStates;
    n_slab_rows = static_cast<int>(rows < kScanSlabStates ? rows : kScanSlabStates);
  }
};

// A per-channel value (delta_bias or D; 0 when absent) for the row of each of this thread's units.
// The rows are the same every chunk, so the values are read once before the chunk loop: read
// inside it, each chunk stalled on a global load.
template <typename In>
struct UnitChannelValues {
  float v[In::kPerThread];

  __device__ __forceinline__ void load(const float* src, const ScanBlock& blk) {
#pragma unroll
    for (int i = 0; i < In::kPerThread; ++i) {
      const bool ok = src != nullptr && In::owns(i) && In::row(i) < blk.n_channels;
      v[i] = ok ? src[blk.d_begin + In::row(i)] : 0.f;
    }
  }
};

// Per-thread constants of the recurrence: A scaled by log2 e, and B, C when they are fixed (D, N).
template <bool kVarB, bool kVarC, int S>
struct ScanWeights {
  float A2[S];
  float B[S];
  float C[S];
  bool ok[S];

  __device__ __forceinline__ void load(const SelectiveScanFwdParams& p, const ScanBlock& blk) {
#pragma unroll
    for (int s = 0; s < S; ++s) {
      const int64_t n = blk.n_begin + s;
      ok[s] = blk.channel_ok && n < p.dstate;
      const int64_t i = blk.d * p.dstate + n;
      A2[s] = ok[s] ? p.A[i] * kLog2e : 0.f;
      if constexpr (!kVarB) B[s] = ok[s] ? static_cast<const float*>(p.B)[i] : 0.f;
      if constexpr (!kVarC) C[s] = ok[s] ? static_cast<const float*>(p.C)[i] : 0.f;
    }
  }
};

// Column of state n's B or C in the staged (time, 2 x 16) tile (see kBcTileStride).
template <int S>
__device__ __forceinline__ int bc_column(int n, BcPart part) {
  return (n / S) * 2 * S + static_cast<int>(part) * S + n % S;
}

// Stages this thread's raw units of B or C (rows = the slab's states) into the B/C tile.
template <typename Par, int S>
__device__ __forceinline__ void stage_bc(uint4* raw, float* bc_tile, BcPart part) {
  Par::transpose_to(raw, bc_tile, kBcTileStride, [part](int n) { return bc_column<S>(n, part); });
}

// B[t] or C[t] of this warp's S states: one 8- or 16-byte broadcast read of the staged tile when
// input-dependent, else the fixed per-channel values.
template <bool kVar, int S>
__device__ __forceinline__ void param_at(const float* bc_tile, int t, int warp, BcPart part,
                                         const float (&fixed)[S], float (&out)[S]) {
  static_assert(S == 2 || S == 4, "2 or 4 states per thread");
  if constexpr (kVar) {
    const float* src = &bc_tile[t * kBcTileStride + warp * 2 * S + static_cast<int>(part) * S];
    if constexpr (S == 4) {
      const float4 v = *reinterpret_cast<const float4*>(src);
      out[0] = v.x;
      out[1] = v.y;
      out[2] = v.z;
      out[3] = v.w;
    } else {
      const float2 v = *reinterpret_cast<const float2*>(src);
      out[0] = v.x;
      out[1] = v.y;
    }
  } else {
#pragma unroll
    for (int s = 0; s < S; ++s)
      out[s] = fixed[s];
  }
}

// B[t] and C[t] of this warp's S states; both input-dependent at S = 2: one 16-byte read.
template <bool kVarB, bool kVarC, int S>
__device__ __forceinline__ void params_at(const float* bc_tile, int t, int warp,
                                          const ScanWeights<kVarB, kVarC, S>& w, float (&Bt)[S],
                                          float (&Ct)[S]) {
  if constexpr (kVarB && kVarC && S == 2) {
    const float4 v = *reinterpret_cast<const float4*>(&bc_tile[t * kBcTileStride + warp * 4]);
    Bt[0] = v.x;
    Bt[1] = v.y;
    Ct[0] = v.z;
    Ct[1] = v.w;
  } else {
    param_at<kVarB, S>(bc_tile, t, warp, BcPart::kB, w.B, Bt);
    param_at<kVarC, S>(bc_tile, t, warp, BcPart::kC, w.C, Ct);
  }
}

// Launches `kernel` with kSmem bytes of dynamic shared memory. The limit above 48 KB is a
// per-device attribute that persists, so it is raised on a device's first launch only: setting it
// on every launch was host time in every call, which the caller waits for when the GPU is idle.
// One instance per kernel (a static in each launcher).
class SmemLimit {
 public:
  template <typename Kernel>
  cudaError_t raise(Kernel kernel, size_t bytes) {
    int device = 0;
    cudaError_t err = cudaGetDevice(&device);
    if (err != cudaSuccess) return err;
    const uint64_t bit = device < 64 ? uint64_t{1} << device : 0;
    if (bit != 0 && (raised_.load(std::memory_order_acquire) & bit) != 0) return cudaSuccess;
    err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               static_cast<int>(bytes));
    if (err == cudaSuccess) raised_.fetch_or(bit, std::memory_order_release);
    return err;
  }

 private:
  std::atomic<uint64_t> raised_{0};  // bit d: set on device d
};

inline dim3 scan_grid(const SelectiveScanFwdParams& p) {
  return dim3(static_cast<unsigned>(p.n_groups * p.tiles_per_group), static_cast<unsigned>(p.batch),
              static_cast<unsigned>(p.n_slabs));
}

// Launches a scan kernel over scan_grid(p) with `smem` bytes of dynamic shared memory, first
// raising the kernel's limit through `limit` (the caller's static, one per kernel). The forward,
// pipelined forward and backward launchers share it.
template <typename Kernel, typename Params>
cudaError_t launch_scan_kernel(Kernel kernel, SmemLimit& limit, unsigned threads, size_t smem,
                               const Params& p, cudaStream_t stream) {
  const cudaError_t err = limit.raise(kernel, smem);
  if (err != cudaSuccess) return err;
  kernel<<<scan_grid(p), threads, smem, stream>>>(p);
  return cudaGetLastError();
}

// The current device's multiprocessor count, asked once per device (a query on every launch was
// host time).
inline cudaError_t multiprocessor_count(int* sms) {
  constexpr int kCachedDevices = 64;
  static std::atomic<int> sm_counts[kCachedDevices] = {};
  int device = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err != cudaSuccess) return err;
  *sms = device < kCachedDevices ? sm_counts[device].load(std::memory_order_relaxed) : 0;
  if (*sms != 0) return cudaSuccess;
  err = cudaDeviceGetAttribute(sms, cudaDevAttrMultiProcessorCount, device);
  if (err != cudaSuccess) return err;
  if (device < kCachedDevices) sm_counts[device].store(*sms, std::memory_order_relaxed);
  return cudaSuccess;
}

// Blocks per multiprocessor of a launch's grid.
inline cudaError_t blocks_per_multiprocessor(const SelectiveScanFwdParams& p, double* blocks) {
  int sms = 0;
  const cudaError_t err = multiprocessor_count(&sms);
  if (err != cudaSuccess) return err;
  *blocks = static_cast<double>(p.n_groups * p.tiles_per_group) *
            static_cast<double>(p.batch * p.n_slabs) / sms;
  return cudaSuccess;
}

// States per thread for this launch: as asked, or 4 when the grid gives every multiprocessor
// at least min_blocks_per_sm blocks, else 2.
inline cudaError_t states_per_thread(const SelectiveScanFwdParams& p, double min_blocks_per_sm,
                                     int* states) {
  if (p.states_per_thread == 2 || p.states_per_thread == 4) {
    *states = p.states_per_thread;
    return cudaSuccess;
  }
  double blocks = 0;
  const cudaError_t err = blocks_per_multiprocessor(p, &blocks);
  if (err != cudaSuccess) return err;
  *states = blocks >= min_blocks_per_sm ? 4 : 2;
  return cudaSuccess;
}

}  // namespace ssmkit::kernels::detail
