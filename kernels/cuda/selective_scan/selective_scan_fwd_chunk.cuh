// The three steps of one forward chunk, shared by the forward kernels (the one where every warp
// takes each step in turn, and the pipelined one where helper warps stage and finish while scan
// warps scan): staging (dt, dt u) and B/C from the raw inputs, the scan of a warp's states with
// its partial y, and the finish of y from the warps' partials.
#pragma once

#include "selective_scan/selective_scan_common.cuh"

namespace ssmkit::kernels::detail {

// Per-warp partial y is kept in registers for this many steps, then stored as 16-byte vectors:
// a store after every step kept the compiler from issuing the next steps' shared-memory reads
// before it (they might alias), so each step waited out the read latency.
constexpr int kYGroup = 8;
// Partial y lies (warp, lane, time): a lane's steps are contiguous for the vector stores and the
// epilogue's vector reads; the row stride, a multiple of 4 floats, keeps 16-byte alignment and
// spreads a quarter-warp's rows over all banks.
constexpr int kYRowStride = kScanChunk + 4;
constexpr int kYWarpFloats = 32 * kYRowStride;
static_assert(kScanChunk % kYGroup == 0 && kYGroup % 4 == 0, "whole 16-byte groups per chunk");
// (dt, dt u) of steps 2j and 2j + 1 of a channel side by side: the scan reads two steps with one
// 16-byte load. (T / 2, 33) float4.
constexpr int kDtPairVec4s = kScanChunk / 2 * kTileStride;

// The D u skip term of a thread's units, kept from the staging for the finish when kKeep and the
// thread has one unit (with more, the registers it holds through the scan cost more than reading u
// again). Only where a thread finishes a chunk before staging the next.
template <typename In, bool kKeep>
struct UnitSkip {
  static constexpr bool kKept = kKeep && In::kPerThread == 1;
  float v[In::kPerThread][In::kVec];
};

// dt = softplus(delta + bias) (or delta + bias) and dt u, once per (channel, time), from this
// thread's units of the chunk at t0, into the step-pair tile; 0 outside the sequence or the tile,
// so that padded steps leave the state unchanged.
template <typename InT, typename In, typename Skip>
__device__ __forceinline__ void stage_dt_pairs(uint4* raw_u, uint4* raw_delta, float4* dt_pairs,
                                               const UnitChannelValues<In>& unit_bias,
                                               const UnitChannelValues<In>& unit_skip, Skip& skip,
                                               int n_channels, int steps_left,
                                               bool delta_softplus) {
#pragma unroll
  for (int i = 0; i < In::kPerThread; ++i) {
    if (!In::owns(i)) continue;
    const int r = In::row(i);
    const int c = In::col(i);
    const int steps_in = r < n_channels ? steps_left - c : 0;  // the unit's steps in range
    const float bias = unit_bias.v[i];
    float u[In::kVec], delta[In::kVec];
    In::read(raw_u, i, u);
    In::read(raw_delta, i, delta);
    float dt[In::kVec];
#pragma unroll
    for (int e = 0; e < In::kVec; ++e) {
      const float v = delta[e] + bias;
      dt[e] = delta_softplus ? softplus<kFastMathFor<InT>>(v) : v;
      if constexpr (Skip::kKept) skip.v[i][e] = unit_skip.v[i] * u[e];
    }
    if (steps_in < In::kVec) {  // only in the last chunk, or past the tile's channels
#pragma unroll
      for (int e = 0; e < In::kVec; ++e)
        dt[e] = e < steps_in ? dt[e] : 0.f;
    }
    static_assert(In::kVec % 2 == 0, "units hold whole step pairs");
#pragma unroll
    for (int e = 0; e < In::kVec; e += 2) {
      dt_pairs[(c + e) / 2 * kTileStride + r] =
          make_float4(dt[e], dt[e] * u[e], dt[e + 1], dt[e + 1] * u[e + 1]);
    }
  }
}

// One warp's scan of a chunk: its S recurrences over the chunk's steps, and its partial y
// (sum over its states of C x) into its (lane, time) rows at yp.
template <bool kVarB, bool kVarC, int S>
__device__ __forceinline__ void scan_chunk(const float4* dt_pairs, const float* bc_tile, int warp,
                                           int lane, const ScanWeights<kVarB, kVarC, S>& w,
                                           float (&x)[S], float* yp) {
#pragma unroll
  for (int t0g = 0; t0g < kScanChunk; t0g += kYGroup) {
    float y[kYGroup];
    static_assert(kYGroup % 2 == 0, "groups of whole step pairs");
    float4 q2;  // (dt, dt u) of a step pair, read at the pair's first step
#pragma unroll
    for (int i = 0; i < kYGroup; ++i) {
      const int t = t0g + i;
      if (i % 2 == 0) q2 = dt_pairs[t / 2 * kTileStride + lane];
      const float dt = i % 2 == 0 ? q2.x : q2.z;
      const float dtu = i % 2 == 0 ? q2.y : q2.w;
      float Bt[S], Ct[S];
      params_at(bc_tile, t, warp, w, Bt, Ct);
      float acc = 0.f;
#pragma unroll
      for (int s = 0; s < S; ++s) {
        x[s] = fmaf(exp2_fast(dt * w.A2[s]), x[s], dtu * Bt[s]);
        acc = fmaf(Ct[s], x[s], acc);
      }
      y[i] = acc;
    }
#pragma unroll
    for (int i = 0; i < kYGroup; i += 4)
      *reinterpret_cast<float4*>(yp + t0g + i) = make_float4(y[i], y[i + 1], y[i + 2], y[i + 3]);
  }
}

// Where a forward block writes y: the output (one slab) or the slab's float32 partial (N > 16).
template <typename InT>
struct FwdOutput {
  InT* y;          // (B, D, L), when fused
  float* partial;  // this slab's (B, D, L) partial, when not
  bool fused;      // n_slabs == 1
  bool has_z;
};

// y of this thread's units of the chunk at t0: the kWarps warps' partial sums, + D u, gated by
// silu(z); stored directly. y_unit_offset: where each unit's y starts at t0 = 0.
template <typename InT, typename In, int kWarps, typename Skip>
__device__ __forceinline__ void finish_y(const float* y_part, uint4* raw_u, uint4* raw_z,
                                         const UnitChannelValues<In>& unit_skip, const Skip& skip,
                                         const int64_t (&y_unit_offset)[In::kPerThread],
                                         const FwdOutput<InT>& out, int t0, int seqlen,
                                         int n_channels) {
#pragma unroll
  for (int i = 0; i < In::kPerThread; ++i) {
    if (!In::owns(i)) continue;
    const int r = In::row(i);
    const int c = In::col(i);
    const int count = seqlen - t0 - c;  // the unit's steps in range
    if (r >= n_channels || count <= 0) continue;
    static_assert(In::kVec % 4 == 0, "a unit's partial y is read as 16-byte vectors");
    float y[In::kVec];
#pragma unroll
    for (int k = 0; k < kWarps; ++k) {
#pragma unroll
      for (int e = 0; e < In::kVec; e += 4) {
        const float4 v =
            *reinterpret_cast<const float4*>(&y_part[k * kYWarpFloats + r * kYRowStride + c + e]);
        y[e] = k == 0 ? v.x : y[e] + v.x;
        y[e + 1] = k == 0 ? v.y : y[e + 1] + v.y;
        y[e + 2] = k == 0 ? v.z : y[e + 2] + v.z;
        y[e + 3] = k == 0 ? v.w : y[e + 3] + v.w;
      }
    }
    const int64_t offset = y_unit_offset[i] + t0;
    if (!out.fused) {
      store_values<float>(out.partial + offset, y, count);
      continue;
    }
    if constexpr (Skip::kKept) {
#pragma unroll
      for (int e = 0; e < In::kVec; ++e)
        y[e] += skip.v[i][e];
    } else {
      float u[In::kVec];
      In::read(raw_u, i, u);
#pragma unroll
      for (int e = 0; e < In::kVec; ++e)
        y[e] = fmaf(unit_skip.v[i], u[e], y[e]);
    }
    if (out.has_z) {
      float z[In::kVec];
      In::read(raw_z, i, z);
#pragma unroll
      for (int e = 0; e < In::kVec; ++e)
        y[e] *= z[e] * sigmoid<kFastMathFor<InT>>(z[e]);
    }
    store_values<InT>(out.y + offset, y, count);
  }
}

// Where each of this thread's units of y starts (t0 = 0) in the (B, D, L) output.
template <typename In>
__device__ __forceinline__ void y_unit_offsets(const SelectiveScanFwdParams& p,
                                               const ScanBlock& blk,
                                               int64_t (&offset)[In::kPerThread]) {
#pragma unroll
  for (int i = 0; i < In::kPerThread; ++i)
    offset[i] = (blk.b * p.dim + blk.d_begin + In::row(i)) * p.seqlen + In::col(i);
}

template <typename InT>
__device__ __forceinline__ FwdOutput<InT> fwd_output(const SelectiveScanFwdParams& p,
                                                     const ScanBlock& blk) {
  FwdOutput<InT> out;
  out.fused = p.n_slabs == 1;
  out.has_z = p.z != nullptr;
  out.y = static_cast<InT*>(p.y);
  out.partial = out.fused ? nullptr : p.y_partial + blk.slab * p.batch * p.dim * p.seqlen;
  return out;
}

// The (B, D, L) rows of this block's channels in one input, or null when absent.
template <typename InT>
__device__ __forceinline__ const InT* block_rows(const void* base, int64_t batch_stride,
                                                 int64_t dim_stride, const ScanBlock& blk) {
  return base == nullptr
             ? nullptr
             : static_cast<const InT*>(base) + blk.b * batch_stride + blk.d_begin * dim_stride;
}

// The (N, L) rows of this block's slab in input-dependent B or C.
template <typename BcT>
__device__ __forceinline__ const BcT* slab_rows(const void* base, int64_t batch_stride,
                                                int64_t group_stride, int64_t dstate_stride,
                                                const ScanBlock& blk) {
  return static_cast<const BcT*>(base) + blk.b * batch_stride + blk.group * group_stride +
         blk.slab * kScanSlabStates * dstate_stride;
}

// The copy sources of a forward block's five inputs, located once before the chunk loop.
template <typename InT, typename BcT, bool kVarB, bool kVarC, typename In, typename Par>
struct FwdSources {
  typename In::Source u, delta, z;
  typename Par::Source b, c;

  __device__ __forceinline__ FwdSources(const SelectiveScanFwdParams& p, const ScanBlock& blk)
      : u(block_rows<InT>(p.u, p.u_batch_stride, p.u_dim_stride, blk), p.u_dim_stride,
          blk.n_channels, p.seqlen),
        delta(block_rows<InT>(p.delta, p.delta_batch_stride, p.delta_dim_stride, blk),
              p.delta_dim_stride, blk.n_channels, p.seqlen),
        z(block_rows<InT>(p.z, p.z_batch_stride, p.z_dim_stride, blk), p.z_dim_stride,
          p.z != nullptr ? blk.n_channels : 0, p.seqlen),
        b(kVarB ? slab_rows<BcT>(p.B, p.B_batch_stride, p.B_group_stride, p.B_dstate_stride, blk)
                : nullptr,
          p.B_dstate_stride, kVarB ? blk.n_slab_rows : 0, p.seqlen),
        c(kVarC ? slab_rows<BcT>(p.C, p.C_batch_stride, p.C_group_stride, p.C_dstate_stride, blk)
                : nullptr,
          p.C_dstate_stride, kVarC ? blk.n_slab_rows : 0, p.seqlen) {}
};

// A thread's checkpoints: the state after each chunk but the last, (B, n_chunks - 1, N, D).
// The address of its first one is worked out once: recomputing the 64-bit index per chunk cost
// 40 instructions.
template <int S>
struct CheckpointWriter {
  float* next;  // null: no checkpoints
  int64_t chunk_stride;
  int64_t state_stride;

  __device__ __forceinline__ CheckpointWriter(const SelectiveScanFwdParams& p, const ScanBlock& blk)
      : next(p.checkpoints == nullptr
                 ? nullptr
                 : p.checkpoints + (blk.b * (p.n_chunks - 1) * p.dstate + blk.n_begin) * p.dim +
                       blk.d),
        chunk_stride(p.dstate * p.dim),
        state_stride(p.dim) {}

  template <bool kVarB, bool kVarC>
  __device__ __forceinline__ void write(const float (&x)[S], const ScanWeights<kVarB, kVarC, S>& w,
                                        bool last_chunk) {
    if (next == nullptr || last_chunk) return;
#pragma unroll
    for (int s = 0; s < S; ++s) {
      if (w.ok[s]) next[s * state_stride] = x[s];
    }
    next += chunk_stride;
  }
};

// The initial state of this thread's S recurrences, and the final one out.
template <bool kVarB, bool kVarC, int S>
__device__ __forceinline__ void load_initial_state(const SelectiveScanFwdParams& p,
                                                   const ScanBlock& blk,
                                                   const ScanWeights<kVarB, kVarC, S>& w,
                                                   float (&x)[S]) {
#pragma unroll
  for (int s = 0; s < S; ++s) {
    const int64_t i = (blk.b * p.dim + blk.d) * p.dstate + blk.n_begin + s;
    x[s] = w.ok[s] && p.initial_state != nullptr ? p.initial_state[i] : 0.f;
  }
}
template <bool kVarB, bool kVarC, int S>
__device__ __forceinline__ void store_last_state(const SelectiveScanFwdParams& p,
                                                 const ScanBlock& blk,
                                                 const ScanWeights<kVarB, kVarC, S>& w,
                                                 const float (&x)[S]) {
  if (p.last_state == nullptr) return;
#pragma unroll
  for (int s = 0; s < S; ++s) {
    if (w.ok[s]) p.last_state[(blk.b * p.dim + blk.d) * p.dstate + blk.n_begin + s] = x[s];
  }
}

}  // namespace ssmkit::kernels::detail
