// Forward selective-scan kernel. One block = (batch, 32 channels of one group, slab of 16 states);
// lane = channel, warp = S (4 or 2) states. Each thread runs its S recurrences sequentially over
// time in registers, chunk by chunk. Per chunk: the next chunk's inputs start copying
// asynchronously into the other raw buffer; each thread turns its own units of this chunk into
// (dt, dt u) and the interleaved B/C tile; barrier; scan, partial y per warp; barrier; each thread
// sums the partials of its own units, finishes and stores their y.
#pragma once

#include "selective_scan/selective_scan_common.cuh"

namespace ssmkit::kernels {
namespace detail {

// Raw input buffers of the forward: the chunk being used and the one being copied in.
constexpr int kFwdStages = 2;
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

template <typename InT, typename BcT, int S>
struct FwdSmem {
  using Layout = ScanLayout<S>;
  using In = RawTile<InT, kScanChannelsPerBlock, Layout::kThreads>;
  using Par = RawTile<BcT, kScanSlabStates, Layout::kThreads>;
  // Per stage: u, delta, z, B, C raw units.
  static constexpr int kStageUnits = 3 * In::kSmemVec4s + 2 * Par::kSmemVec4s;
  static constexpr size_t kRawBytes = kFwdStages * kStageUnits * sizeof(uint4);
  static constexpr size_t kDtBytes =
      kScanChunk / 2 * kTileStride * sizeof(float4);  // (T / 2, 33) step pairs
  static constexpr size_t kYPartBytes =
      Layout::kWarps * kYWarpFloats * sizeof(float);                    // (W, 32, T+4)
  static constexpr size_t kParamBytes = kBcTileFloats * sizeof(float);  // (T, 2 x 16)
  static constexpr size_t kBytes = kRawBytes + kDtBytes + kYPartBytes + kParamBytes;
};

template <typename InT, typename BcT, bool kVarB, bool kVarC, int S>
__global__ void __launch_bounds__(ScanLayout<S>::kThreads)
    selective_scan_fwd_kernel(const SelectiveScanFwdParams p) {
  using Smem = FwdSmem<InT, BcT, S>;
  using In = typename Smem::In;
  using Par = typename Smem::Par;
  constexpr int kWarps = Smem::Layout::kWarps;
  extern __shared__ float4 smem_vec[];
  uint4* raw = reinterpret_cast<uint4*>(smem_vec);  // (stages, units)
  // (dt, dt u) of steps 2j and 2j + 1 of a channel side by side: the scan reads two steps with
  // one 16-byte load.
  float4* dt_pairs =
      reinterpret_cast<float4*>(raw + kFwdStages * Smem::kStageUnits);  // (T / 2, 33)
  float* y_part =
      reinterpret_cast<float*>(dt_pairs + kScanChunk / 2 * kTileStride);  // (W, 32, T+4)
  float* bc_tile = y_part + kWarps * kYWarpFloats;                        // (T, 2 x 16)
  auto raw_u = [&](int stage) { return raw + stage * Smem::kStageUnits; };
  auto raw_delta = [&](int stage) { return raw_u(stage) + In::kSmemVec4s; };
  auto raw_z = [&](int stage) { return raw_u(stage) + 2 * In::kSmemVec4s; };
  auto raw_b = [&](int stage) { return raw_u(stage) + 3 * In::kSmemVec4s; };
  auto raw_c = [&](int stage) { return raw_b(stage) + Par::kSmemVec4s; };

  const ScanBlock blk(p, S);
  ScanWeights<kVarB, kVarC, S> w;
  w.load(p, blk);
  const int lane = blk.lane;
  const int warp = blk.warp;
  const bool has_z = p.z != nullptr;
  const bool fused = p.n_slabs == 1;

  UnitChannelValues<In> unit_bias, unit_skip;
  unit_bias.load(p.delta_bias, blk);
  unit_skip.load(p.D, blk);

  float x[S];
#pragma unroll
  for (int s = 0; s < S; ++s) {
    const int64_t i = (blk.b * p.dim + blk.d) * p.dstate + blk.n_begin + s;
    x[s] = w.ok[s] && p.initial_state != nullptr ? p.initial_state[i] : 0.f;
  }

  const InT* u_rows =
      static_cast<const InT*>(p.u) + blk.b * p.u_batch_stride + blk.d_begin * p.u_dim_stride;
  const InT* delta_rows = static_cast<const InT*>(p.delta) + blk.b * p.delta_batch_stride +
                          blk.d_begin * p.delta_dim_stride;
  const InT* z_rows =
      has_z ? static_cast<const InT*>(p.z) + blk.b * p.z_batch_stride + blk.d_begin * p.z_dim_stride
            : nullptr;
  const int64_t slab_row0 = blk.slab * kScanSlabStates;
  const BcT* b_rows = kVarB ? static_cast<const BcT*>(p.B) + blk.b * p.B_batch_stride +
                                  blk.group * p.B_group_stride + slab_row0 * p.B_dstate_stride
                            : nullptr;
  const BcT* c_rows = kVarC ? static_cast<const BcT*>(p.C) + blk.b * p.C_batch_stride +
                                  blk.group * p.C_group_stride + slab_row0 * p.C_dstate_stride
                            : nullptr;
  // Each input's units located once; starting a chunk's copy then only offsets them.
  const typename In::Source u_src(u_rows, p.u_dim_stride, blk.n_channels, p.seqlen);
  const typename In::Source delta_src(delta_rows, p.delta_dim_stride, blk.n_channels, p.seqlen);
  const typename In::Source z_src(z_rows, p.z_dim_stride, has_z ? blk.n_channels : 0, p.seqlen);
  const typename Par::Source b_src(b_rows, p.B_dstate_stride, kVarB ? blk.n_slab_rows : 0,
                                   p.seqlen);
  const typename Par::Source c_src(c_rows, p.C_dstate_stride, kVarC ? blk.n_slab_rows : 0,
                                   p.seqlen);
  // Time indices fit in int (the host checks L <= kScanMaxSeqlen): 32-bit loop arithmetic, where
  // 64-bit compares and products were a good part of the per-chunk instructions.
  const int seqlen = static_cast<int>(p.seqlen);
  const int n_chunks = static_cast<int>(p.n_chunks);
  auto start_copy = [&](int chunk) {
    const int stage = chunk % kFwdStages;
    const int t0 = chunk * kScanChunk;
    u_src.start(raw_u(stage), t0);
    delta_src.start(raw_delta(stage), t0);
    if (has_z) z_src.start(raw_z(stage), t0);
    if constexpr (kVarB) b_src.start(raw_b(stage), t0);
    if constexpr (kVarC) c_src.start(raw_c(stage), t0);
  };

  // This thread's first checkpoint (chunk 0, its first state); one chunk's checkpoints are
  // N * D floats further. Worked out once: recomputing the 64-bit index per chunk cost 40
  // instructions.
  float* checkpoint =
      p.checkpoints == nullptr
          ? nullptr
          : p.checkpoints + (blk.b * (p.n_chunks - 1) * p.dstate + blk.n_begin) * p.dim + blk.d;
  const int64_t checkpoint_chunk_stride = p.dstate * p.dim;
  // Where this thread's units of y (or of this slab's partial y) start (t0 = 0).
  InT* const y_out = static_cast<InT*>(p.y);
  float* const y_partial_out =
      fused ? nullptr : p.y_partial + blk.slab * p.batch * p.dim * p.seqlen;
  int64_t y_unit_offset[In::kPerThread];
#pragma unroll
  for (int i = 0; i < In::kPerThread; ++i)
    y_unit_offset[i] = (blk.b * p.dim + blk.d_begin + In::row(i)) * p.seqlen + In::col(i);

  start_copy(0);
  cp_async_commit();
  for (int chunk = 0; chunk < n_chunks; ++chunk) {
    const int stage = chunk % kFwdStages;
    const int t0 = chunk * kScanChunk;
    if (chunk + 1 < n_chunks) start_copy(chunk + 1);
    cp_async_commit();
    cp_async_wait<1>();  // this thread's copies of this chunk have landed

    // dt = softplus(delta + bias) and dt u, once per (channel, time), from this thread's units;
    // 0 outside the sequence or the tile, so that padded steps leave the state unchanged. With one
    // unit per thread the skip term D u is kept for the epilogue, which then need not read and
    // convert u again (with more, the registers it holds through the scan cost more than that).
    constexpr bool kKeepSkip = In::kPerThread == 1;
    float skip[In::kPerThread][In::kVec];
#pragma unroll
    for (int i = 0; i < In::kPerThread; ++i) {
      if (!In::owns(i)) continue;
      const int r = In::row(i);
      const int c = In::col(i);
      const int steps_in = r < blk.n_channels ? seqlen - t0 - c : 0;  // the unit's steps in range
      const float bias = unit_bias.v[i];
      float u[In::kVec], delta[In::kVec];
      In::read(raw_u(stage), i, u);
      In::read(raw_delta(stage), i, delta);
      float dt[In::kVec];
#pragma unroll
      for (int e = 0; e < In::kVec; ++e) {
        const float v = delta[e] + bias;
        dt[e] = p.delta_softplus ? softplus<kFastMathFor<InT>>(v) : v;
        if constexpr (kKeepSkip) skip[i][e] = unit_skip.v[i] * u[e];
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
    if constexpr (kVarB) stage_bc<Par, S>(raw_b(stage), bc_tile, BcPart::kB);
    if constexpr (kVarC) stage_bc<Par, S>(raw_c(stage), bc_tile, BcPart::kC);
    __syncthreads();

    float* yp = y_part + warp * kYWarpFloats + lane * kYRowStride;
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
    if (checkpoint != nullptr && chunk + 1 < n_chunks) {
#pragma unroll
      for (int s = 0; s < S; ++s) {
        if (w.ok[s]) checkpoint[s * p.dim] = x[s];
      }
      checkpoint += checkpoint_chunk_stride;
    }
    __syncthreads();

    // y of this thread's units: the warps' partial sums, + D u, gated by silu(z); stored directly.
#pragma unroll
    for (int i = 0; i < In::kPerThread; ++i) {
      if (!In::owns(i)) continue;
      const int r = In::row(i);
      const int c = In::col(i);
      const int count = seqlen - t0 - c;  // the unit's steps in range
      if (r >= blk.n_channels || count <= 0) continue;
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
      if (fused) {
        if constexpr (kKeepSkip) {
#pragma unroll
          for (int e = 0; e < In::kVec; ++e)
            y[e] += skip[i][e];
        } else {
          float u[In::kVec];
          In::read(raw_u(stage), i, u);
#pragma unroll
          for (int e = 0; e < In::kVec; ++e)
            y[e] = fmaf(unit_skip.v[i], u[e], y[e]);
        }
        if (has_z) {
          float z[In::kVec];
          In::read(raw_z(stage), i, z);
#pragma unroll
          for (int e = 0; e < In::kVec; ++e)
            y[e] *= z[e] * sigmoid<kFastMathFor<InT>>(z[e]);
        }
        store_values<InT>(y_out + offset, y, count);
      } else {
        store_values<float>(y_partial_out + offset, y, count);
      }
    }
  }

#pragma unroll
  for (int s = 0; s < S; ++s) {
    if (w.ok[s] && p.last_state != nullptr) {
      p.last_state[(blk.b * p.dim + blk.d) * p.dstate + blk.n_begin + s] = x[s];
    }
  }
}

template <typename InT, typename BcT, bool kVarB, bool kVarC, int S>
cudaError_t launch_fwd_variant(const SelectiveScanFwdParams& p, cudaStream_t stream) {
  auto kernel = selective_scan_fwd_kernel<InT, BcT, kVarB, kVarC, S>;
  constexpr size_t kSmem = FwdSmem<InT, BcT, S>::kBytes;
  static SmemLimit smem_limit;
  const cudaError_t err = smem_limit.raise(kernel, kSmem);
  if (err != cudaSuccess) return err;
  kernel<<<scan_grid(p), ScanLayout<S>::kThreads, kSmem, stream>>>(p);
  return cudaGetLastError();
}

template <typename InT, typename BcT, bool kVarB, bool kVarC>
cudaError_t launch_fwd_layout(const SelectiveScanFwdParams& p, cudaStream_t stream) {
  int states = 0;
  const cudaError_t err = states_per_thread(p, kMinBlocksPerSmForFourStates, &states);
  if (err != cudaSuccess) return err;
  return states == 4 ? launch_fwd_variant<InT, BcT, kVarB, kVarC, 4>(p, stream)
                     : launch_fwd_variant<InT, BcT, kVarB, kVarC, 2>(p, stream);
}

// Picks the variant for the layouts of B and C. Fixed B and C are always float32.
template <typename InT, typename BcT>
cudaError_t launch_fwd(const SelectiveScanFwdParams& p, cudaStream_t stream) {
  if (p.var_B && p.var_C) return launch_fwd_layout<InT, BcT, true, true>(p, stream);
  if (p.var_B) return launch_fwd_layout<InT, BcT, true, false>(p, stream);
  if (p.var_C) return launch_fwd_layout<InT, BcT, false, true>(p, stream);
  return launch_fwd_layout<InT, float, false, false>(p, stream);
}

}  // namespace detail
}  // namespace ssmkit::kernels
