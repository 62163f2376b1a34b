// Plain-data description of one selective-scan launch (pointers, element strides, sizes, flags) and
// the tiling constants the kernels and the host code share. No LibTorch, no CUDA headers.
#pragma once

#include <cstdint>

#include "common/element_dtype.h"

namespace ssmkit::kernels {

// Time steps a block stages in shared memory at a time; the forward also saves the state once per
// chunk for the backward. 32 steps of fp32 are one 128-byte line per channel row.
constexpr int kScanChunk = 32;
// Longest sequence the kernels take: time indices, chunk counts and in-range step counts are int
// inside them.
constexpr int64_t kScanMaxSeqlen = (int64_t{1} << 31) - 1 - kScanChunk;
// Channels per block, one per lane: (channel, time) tiles load coalesced, and the sums of dB and
// dC over channels are warp reductions.
constexpr int kScanChannelsPerBlock = 32;
// States per block. Larger N runs ceil(N / 16) slabs as separate blocks whose partial outputs the
// host sums (N > 16 is off the fast path; Mamba uses N = 16).
constexpr int kScanSlabStates = 16;

// Thread layout of a block: lane = channel, warp w owns kStates consecutive states of the slab.
// 4 states per thread keep the exponential unit busy with fewer instructions per state (the
// per-step loads are shared by 4 recurrences); 2 states per thread give twice the warps, for grids
// too small to fill the GPU with 4.
template <int kStates>
struct ScanLayout {
  static constexpr int kStatesPerThread = kStates;
  static constexpr int kWarps = kScanSlabStates / kStates;
  static constexpr int kThreads = 32 * kWarps;
  static_assert(kScanSlabStates % kStates == 0, "warps must tile the slab");
};
// Grids of fewer blocks than this many per multiprocessor use 2 states per thread in the backward
// (the forward picks between its pipelined kernel and 4 states per thread: see
// selective_scan_fwd_kernel.cuh). Measured on the H200 with both layouts forced: 4 states win
// at 2.9 blocks per multiprocessor (B 8, D 1536: forward 0.31 vs 0.44 ms), 2 states at 1.9 (B 4, D
// 2048, L 8192: forward + backward 3.8 vs 4.8 ms).
constexpr double kMinBlocksPerSmForFourStates = 2.5;

// Element types of the (B, D, L) inputs and of input-dependent B and C.
using ScanDtype = ElementDtype;

// Layout rules. (B, D, L) tensors have a contiguous last dimension; their batch and channel strides
// are free. Input-dependent B and C are read as (B, G, N, L) with a contiguous last dimension
// ((B, N, L) is G = 1 with group stride 0). Fixed B and C, A, D, delta_bias, the states and every
// output are contiguous float32 (outputs of the input dtype where noted).
struct SelectiveScanFwdParams {
  int64_t batch = 0;            // B
  int64_t dim = 0;              // D
  int64_t seqlen = 0;           // L
  int64_t dstate = 0;           // N
  int64_t n_groups = 1;         // G: channel d reads group d / dim_per_group of B and C
  int64_t dim_per_group = 0;    // D / G
  int64_t tiles_per_group = 0;  // ceil(dim_per_group / kScanChannelsPerBlock)
  int64_t n_chunks = 0;         // ceil(L / kScanChunk)
  int64_t n_slabs = 0;          // ceil(N / kScanSlabStates)
  bool var_B = false;           // B is (B, G, N, L) rather than (D, N)
  bool var_C = false;
  bool delta_softplus = false;
  int states_per_thread = 0;  // 2 or 4; 0 picks by grid size
  int fwd_pipelined = -1;     // forward kernel: 1 pipelined, 0 plain, -1 picked by grid size

  const void* u = nullptr;  // (B, D, L) input dtype
  int64_t u_batch_stride = 0, u_dim_stride = 0;
  const void* delta = nullptr;  // (B, D, L) input dtype
  int64_t delta_batch_stride = 0, delta_dim_stride = 0;
  const void* z = nullptr;  // (B, D, L) input dtype, or null: no gate
  int64_t z_batch_stride = 0, z_dim_stride = 0;
  const float* A = nullptr;  // (D, N)
  const void* B = nullptr;   // (B, G, N, L) BC dtype, or (D, N) float32
  int64_t B_batch_stride = 0, B_group_stride = 0, B_dstate_stride = 0;
  const void* C = nullptr;  // as B
  int64_t C_batch_stride = 0, C_group_stride = 0, C_dstate_stride = 0;
  const float* D = nullptr;              // (D) or null
  const float* delta_bias = nullptr;     // (D) or null
  const float* initial_state = nullptr;  // (B, D, N) or null: zeros

  void* y = nullptr;  // (B, D, L) input dtype; written when n_slabs == 1
  float* y_partial =
      nullptr;  // (n_slabs, B, D, L): sum over the slab's states of C x, when n_slabs > 1
  float* last_state = nullptr;  // (B, D, N), or null when not wanted
  float* checkpoints =
      nullptr;  // (B, n_chunks - 1, N, D): state after each chunk but the last, or null
};

// The backward reads the forward's inputs and checkpoints plus the output gradients, and writes the
// input gradients. Sums over batch (and over channel tiles for input-dependent B and C) are left as
// float32 partial buffers for a second launch (ScanPartialSumsParams), so no atomics are needed and
// results are deterministic.
struct SelectiveScanBwdParams : SelectiveScanFwdParams {
  const void* dout = nullptr;  // (B, D, L) input dtype: gradient of y
  int64_t dout_batch_stride = 0, dout_dim_stride = 0;
  const float* dlast_state = nullptr;  // (B, D, N) or null

  void* du = nullptr;                    // (B, D, L) input dtype; when n_slabs == 1
  void* ddelta = nullptr;                // (B, D, L) input dtype; when n_slabs == 1
  void* dz = nullptr;                    // (B, D, L) input dtype; when z is given and n_slabs == 1
  float* dA_partial = nullptr;           // (B, D, N): per-batch dA
  float* dB_partial = nullptr;           // var: (B, G, tiles_per_group, N, L); fixed: (B, D, N)
  float* dC_partial = nullptr;           // as dB_partial
  float* dD_partial = nullptr;           // (B, D) when D is given and n_slabs == 1
  float* ddelta_bias_partial = nullptr;  // (B, D) when delta_bias is given and n_slabs == 1
  float* dinitial_state = nullptr;       // (B, D, N) when initial_state is given
  // When n_slabs > 1: per-slab sums over states, completed by the host. (n_slabs, B, D, L) each.
  float* P_partial = nullptr;  // sum_n g B (du = delta P + D dy)
  float* Q_partial = nullptr;  // sum_n A g exp(delta A) x[t-1] (ddelta = u P + Q before softplus')
  float* y_recomputed_partial = nullptr;  // sum_n C x, only with z (dz needs y)
};

// One sum over the backward's float32 partials: for every output i,
//   dst[i] = sum over k < terms of src[(i / inner) * outer_stride + k * term_stride + i % inner],
// written in dst_dtype. Covers the sums over batch ((B, D, N) -> (D, N), (B, D) -> (D)) and over
// channel tiles ((B, G, tiles, N, L) -> (B, G, N, L)).
struct ScanPartialSum {
  const float* src = nullptr;
  void* dst = nullptr;  // contiguous, `count` elements of dst_dtype
  ScanDtype dst_dtype = ScanDtype::kFloat32;
  int64_t count = 0;         // outputs
  int64_t inner = 1;         // outputs sharing one outer index
  int64_t outer_stride = 0;  // src elements between consecutive outer indices
  int64_t terms = 0;         // partials summed into each output
  int64_t term_stride = 0;   // src elements between consecutive partials
};

// Every sum the backward leaves (dA, dB, dC, dD, ddelta_bias), done by one launch: after a short
// backward kernel, five small reductions and their casts as separate launches cost more than the
// arithmetic.
constexpr int kMaxScanPartialSums = 5;
struct ScanPartialSumsParams {
  ScanPartialSum sums[kMaxScanPartialSums];
  int n_sums = 0;
};

}  // namespace ssmkit::kernels
