// Forward selective-scan kernel. One block = (batch, 32 channels of one group, slab of 16 states);
// lane = channel, warp = 4 states. Each thread runs its 4 recurrences sequentially over time in
// registers, chunk by chunk: u, delta (and z, B, C) of the next chunk load while this one scans.
#pragma once

#include "selective_scan/selective_scan_common.cuh"

namespace ssmkit::kernels {
namespace detail {

template <typename InT, typename BcT, bool kVarB, bool kVarC>
__global__ void __launch_bounds__(kScanThreads)
    selective_scan_fwd_kernel(const SelectiveScanFwdParams p) {
  constexpr int S = kScanStatesPerThread;
  __shared__ float u_tile[kTileFloats];              // (T, 32) u
  __shared__ float dt_tile[kTileFloats];             // (T, 32) delta, then dt, then y
  __shared__ float z_tile[kTileFloats];              // (T, 32) z
  __shared__ float y_part[kScanWarps][kTileFloats];  // (4, T, 32) sum of C x over a warp's states
  __shared__ __align__(16) float b_tile[kParamTileFloats];  // (T, 16) B of the slab
  __shared__ __align__(16) float c_tile[kParamTileFloats];  // (T, 16) C of the slab

  const ScanBlock blk(p);
  ScanWeights<kVarB, kVarC> w;
  w.load(p, blk);
  const int lane = blk.lane;
  const int warp = blk.warp;
  const bool has_z = p.z != nullptr;
  const float d_skip = blk.channel_ok && p.D != nullptr ? p.D[blk.d] : 0.f;
  const float bias = blk.channel_ok && p.delta_bias != nullptr ? p.delta_bias[blk.d] : 0.f;

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

  TileStage<InT, kScanChannelsPerBlock> u_stage, delta_stage, z_stage;
  TileStage<BcT, kScanSlabStates> b_stage, c_stage;
  auto issue_loads = [&](int64_t chunk) {
    const int64_t t0 = chunk * kScanChunk;
    u_stage.load(u_rows, p.u_dim_stride, blk.n_channels, t0, p.seqlen);
    delta_stage.load(delta_rows, p.delta_dim_stride, blk.n_channels, t0, p.seqlen);
    if (has_z) z_stage.load(z_rows, p.z_dim_stride, blk.n_channels, t0, p.seqlen);
    if constexpr (kVarB) b_stage.load(b_rows, p.B_dstate_stride, blk.n_slab_rows, t0, p.seqlen);
    if constexpr (kVarC) c_stage.load(c_rows, p.C_dstate_stride, blk.n_slab_rows, t0, p.seqlen);
  };

  issue_loads(0);
  for (int64_t chunk = 0; chunk < p.n_chunks; ++chunk) {
    const int64_t t0 = chunk * kScanChunk;
    const int64_t left = p.seqlen - t0;
    const int len = static_cast<int>(left < kScanChunk ? left : kScanChunk);

    __syncthreads();  // the previous chunk is done with every tile
    u_stage.store_to_shared(u_tile, kTileStride);
    delta_stage.store_to_shared(dt_tile, kTileStride);
    if (has_z) z_stage.store_to_shared(z_tile, kTileStride);
    if constexpr (kVarB) b_stage.store_to_shared(b_tile, kParamTileStride);
    if constexpr (kVarC) c_stage.store_to_shared(c_tile, kParamTileStride);
    if (chunk + 1 < p.n_chunks) issue_loads(chunk + 1);
    __syncthreads();

    // dt = softplus(delta + bias), once per (channel, time); 0 outside the sequence or the tile, so
    // that padded steps leave the state unchanged.
    for (int t = warp; t < kScanChunk; t += kScanWarps) {
      float& e = dt_tile[t * kTileStride + lane];
      const float v = e + bias;
      const float dt = p.delta_softplus ? softplus(v) : v;
      e = t < len && blk.channel_ok ? dt : 0.f;
    }
    __syncthreads();

    float* yp = y_part[warp];
#pragma unroll
    for (int t = 0; t < kScanChunk; ++t) {
      const float dt = dt_tile[t * kTileStride + lane];
      const float dtu = dt * u_tile[t * kTileStride + lane];
      float Bt[S], Ct[S];
      param_at<kVarB>(b_tile, t, warp, w.B, Bt);
      param_at<kVarC>(c_tile, t, warp, w.C, Ct);
      float y = 0.f;
#pragma unroll
      for (int s = 0; s < S; ++s) {
        x[s] = fmaf(exp2_fast(dt * w.A2[s]), x[s], dtu * Bt[s]);
        y = fmaf(Ct[s], x[s], y);
      }
      yp[t * kTileStride + lane] = y;
    }
    if (p.checkpoints != nullptr && chunk + 1 < p.n_chunks) {
#pragma unroll
      for (int s = 0; s < S; ++s) {
        const int64_t i =
            ((blk.b * (p.n_chunks - 1) + chunk) * p.dstate + blk.n_begin + s) * p.dim + blk.d;
        if (w.ok[s]) p.checkpoints[i] = x[s];
      }
    }
    __syncthreads();

    const bool fused = p.n_slabs == 1;
    for (int t = warp; t < kScanChunk; t += kScanWarps) {
      const int i = t * kTileStride + lane;
      float y = 0.f;
#pragma unroll
      for (int r = 0; r < kScanWarps; ++r)
        y += y_part[r][i];
      if (fused) {
        y = fmaf(d_skip, u_tile[i], y);
        if (has_z) {
          const float zz = z_tile[i];
          y *= zz * sigmoid(zz);
        }
      }
      dt_tile[i] = y;
    }
    __syncthreads();
    if (fused) {
      store_tile<InT>(dt_tile, static_cast<InT*>(p.y) + (blk.b * p.dim + blk.d_begin) * p.seqlen,
                      p.seqlen, blk.n_channels, t0, p.seqlen);
    } else {
      store_tile<float>(
          dt_tile, p.y_partial + ((blk.slab * p.batch + blk.b) * p.dim + blk.d_begin) * p.seqlen,
          p.seqlen, blk.n_channels, t0, p.seqlen);
    }
  }

#pragma unroll
  for (int s = 0; s < S; ++s) {
    if (w.ok[s]) p.last_state[(blk.b * p.dim + blk.d) * p.dstate + blk.n_begin + s] = x[s];
  }
}

template <typename InT, typename BcT, bool kVarB, bool kVarC>
cudaError_t launch_fwd_variant(const SelectiveScanFwdParams& p, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(p.n_groups * p.tiles_per_group),
                  static_cast<unsigned>(p.batch), static_cast<unsigned>(p.n_slabs));
  selective_scan_fwd_kernel<InT, BcT, kVarB, kVarC><<<grid, kScanThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

// Picks the variant for the layouts of B and C. Fixed B and C are always float32.
template <typename InT, typename BcT>
cudaError_t launch_fwd(const SelectiveScanFwdParams& p, cudaStream_t stream) {
  if (p.var_B && p.var_C) return launch_fwd_variant<InT, BcT, true, true>(p, stream);
  if (p.var_B) return launch_fwd_variant<InT, BcT, true, false>(p, stream);
  if (p.var_C) return launch_fwd_variant<InT, BcT, false, true>(p, stream);
  return launch_fwd_variant<InT, float, false, false>(p, stream);
}

}  // namespace detail
}  // namespace ssmkit::kernels
