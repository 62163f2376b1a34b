// Backward selective-scan kernel. Same blocks as the forward (batch, 32 channels, 16 states; lane =
// channel, warp = 4 states), walking the chunks from last to first. Per chunk it restarts from the
// forward's checkpoint, recomputes the states once to keep one every kSubChunk steps, then for each
// sub-chunk (last first) recomputes its states and decays into registers and runs the adjoint
// recurrence g[t] = dy[t] C[t] + exp(dt[t+1] A) g[t+1] backwards. Sums over states (for du, ddelta)
// go through per-warp shared partials; sums over channels (dB, dC when input-dependent) are warp
// reduce-scatters; sums over batch and channel tiles are left to the host as float32 partials.
#pragma once

#include "selective_scan/selective_scan_common.cuh"

namespace ssmkit::kernels {
namespace detail {

// Steps whose states and decays a thread holds in registers during the adjoint pass: 4 steps x 4
// states x (state, decay) = 32 registers, and 2 x 4 x 4 = 32 dB/dC values, one per lane after the
// reduce-scatter.
constexpr int kSubChunk = 4;
constexpr int kSubChunks = kScanChunk / kSubChunk;
// Blocks per multiprocessor the backward is built for: caps registers at 170 per thread, and its
// ~62 KB of shared memory allows three.
constexpr int kBwdMinBlocksPerSm = 3;

// Shared memory of the backward, in floats.
constexpr int kBwdTiles = 6;  // u, dt, dy, softplus', z, dout
constexpr int kBwdSmemFloats =
    kBwdTiles * kTileFloats + 2 * kScanWarps * kTileFloats + 2 * kParamTileFloats;
constexpr size_t kBwdSmemBytes = kBwdSmemFloats * sizeof(float);

// Sums v over the 32 lanes and leaves each lane one part: after it, lane l holds in v[0] the total
// of element l >> (5 - log2 M) (M < 32: lanes with the same high bits hold the same total).
template <int kLen, int kMask, int M>
__device__ __forceinline__ void reduce_scatter(float (&v)[M], int lane) {
  if constexpr (kMask > 0) {
    if constexpr (kLen > 1) {
      constexpr int h = kLen / 2;
      const bool upper = (lane & kMask) != 0;
#pragma unroll
      for (int i = 0; i < h; ++i) {
        const float send = upper ? v[i] : v[i + h];
        const float keep = upper ? v[i + h] : v[i];
        v[i] = keep + __shfl_xor_sync(kFullMask, send, kMask);
      }
      reduce_scatter<h, kMask / 2>(v, lane);
    } else {
      v[0] += __shfl_xor_sync(kFullMask, v[0], kMask);
      reduce_scatter<1, kMask / 2>(v, lane);
    }
  }
}

template <int M>
constexpr int log2_of() {
  int r = 0;
  while ((1 << r) < M)
    ++r;
  return r;
}

template <typename InT, typename BcT, bool kVarB, bool kVarC>
__global__ void __launch_bounds__(kScanThreads, kBwdMinBlocksPerSm)
    selective_scan_bwd_kernel(const SelectiveScanBwdParams p) {
  constexpr int S = kScanStatesPerThread;
  extern __shared__ float4 smem_vec[];
  float* smem = reinterpret_cast<float*>(smem_vec);
  float* b_tile = smem;                               // (T, 16) B of the slab
  float* c_tile = b_tile + kParamTileFloats;          // (T, 16) C of the slab
  float* u_tile = c_tile + kParamTileFloats;          // (T, 32) u, then du
  float* dt_tile = u_tile + kTileFloats;              // (T, 32) delta, then dt, then ddelta
  float* dy_tile = dt_tile + kTileFloats;             // (T, 32) dy = dout * silu(z)
  float* dsp_tile = dy_tile + kTileFloats;            // (T, 32) softplus'(delta + bias)
  float* z_tile = dsp_tile + kTileFloats;             // (T, 32) z, then dz
  float* dout_tile = z_tile + kTileFloats;            // (T, 32) dout
  float* p_part = dout_tile + kTileFloats;            // (4, T, 32) per-warp sum g B (or C x)
  float* q_part = p_part + kScanWarps * kTileFloats;  // (4, T, 32) per-warp sum A g dA x[t-1]

  const ScanBlock blk(p);
  ScanWeights<kVarB, kVarC> w;
  w.load(p, blk);
  const int lane = blk.lane;
  const int warp = blk.warp;
  const bool has_z = p.z != nullptr;
  const bool fused = p.n_slabs == 1;
  const float d_skip = blk.channel_ok && p.D != nullptr ? p.D[blk.d] : 0.f;
  const float bias = blk.channel_ok && p.delta_bias != nullptr ? p.delta_bias[blk.d] : 0.f;
  const int64_t state_base = (blk.b * p.dim + blk.d) * p.dstate + blk.n_begin;

  float g[S];         // adjoint of x[t] carried to earlier steps
  float dA_total[S];  // dA summed over chunks
  float dB_fixed[S];  // dB of fixed B, summed over time
  float dC_fixed[S];
#pragma unroll
  for (int s = 0; s < S; ++s) {
    g[s] = w.ok[s] && p.dlast_state != nullptr ? p.dlast_state[state_base + s] : 0.f;
    dA_total[s] = 0.f;
    dB_fixed[s] = 0.f;
    dC_fixed[s] = 0.f;
  }
  float dD_sum = 0.f;
  float dbias_sum = 0.f;

  const InT* u_rows =
      static_cast<const InT*>(p.u) + blk.b * p.u_batch_stride + blk.d_begin * p.u_dim_stride;
  const InT* delta_rows = static_cast<const InT*>(p.delta) + blk.b * p.delta_batch_stride +
                          blk.d_begin * p.delta_dim_stride;
  const InT* z_rows =
      has_z ? static_cast<const InT*>(p.z) + blk.b * p.z_batch_stride + blk.d_begin * p.z_dim_stride
            : nullptr;
  const InT* dout_rows = static_cast<const InT*>(p.dout) + blk.b * p.dout_batch_stride +
                         blk.d_begin * p.dout_dim_stride;
  const int64_t slab_row0 = blk.slab * kScanSlabStates;
  const BcT* b_rows = kVarB ? static_cast<const BcT*>(p.B) + blk.b * p.B_batch_stride +
                                  blk.group * p.B_group_stride + slab_row0 * p.B_dstate_stride
                            : nullptr;
  const BcT* c_rows = kVarC ? static_cast<const BcT*>(p.C) + blk.b * p.C_batch_stride +
                                  blk.group * p.C_group_stride + slab_row0 * p.C_dstate_stride
                            : nullptr;
  const int64_t bl_rows = (blk.b * p.dim + blk.d_begin) * p.seqlen;  // (b, d_begin, 0) of outputs
  const int64_t slab_rows = blk.slab * p.batch * p.dim * p.seqlen + bl_rows;
  // dB / dC partial rows of this block: (b, group, tile, n, :).
  const int64_t param_part_base =
      ((blk.b * p.n_groups + blk.group) * p.tiles_per_group + blk.tile) * p.dstate;

  for (int64_t chunk = p.n_chunks - 1; chunk >= 0; --chunk) {
    const int64_t t0 = chunk * kScanChunk;
    const int64_t left = p.seqlen - t0;
    const int len = static_cast<int>(left < kScanChunk ? left : kScanChunk);

    __syncthreads();  // the previous chunk is done with every tile
    {                 // all loads in flight before the first use
      TileStage<InT, kScanChannelsPerBlock> u_stage, delta_stage, dout_stage, z_stage;
      TileStage<BcT, kScanSlabStates> b_stage, c_stage;
      u_stage.load(u_rows, p.u_dim_stride, blk.n_channels, t0, p.seqlen);
      delta_stage.load(delta_rows, p.delta_dim_stride, blk.n_channels, t0, p.seqlen);
      dout_stage.load(dout_rows, p.dout_dim_stride, blk.n_channels, t0, p.seqlen);
      if (has_z) z_stage.load(z_rows, p.z_dim_stride, blk.n_channels, t0, p.seqlen);
      if constexpr (kVarB) b_stage.load(b_rows, p.B_dstate_stride, blk.n_slab_rows, t0, p.seqlen);
      if constexpr (kVarC) c_stage.load(c_rows, p.C_dstate_stride, blk.n_slab_rows, t0, p.seqlen);
      u_stage.store_to_shared(u_tile, kTileStride);
      delta_stage.store_to_shared(dt_tile, kTileStride);
      dout_stage.store_to_shared(dout_tile, kTileStride);
      if (has_z) z_stage.store_to_shared(z_tile, kTileStride);
      if constexpr (kVarB) b_stage.store_to_shared(b_tile, kParamTileStride);
      if constexpr (kVarC) c_stage.store_to_shared(c_tile, kParamTileStride);
    }
    __syncthreads();

    // Per (channel, time): dt, softplus', dy. Zero outside the sequence or the tile, so padded
    // steps neither move the state nor contribute.
    for (int t = warp; t < kScanChunk; t += kScanWarps) {
      const int i = t * kTileStride + lane;
      const bool ok = t < len && blk.channel_ok;
      const float v = dt_tile[i] + bias;
      dt_tile[i] = ok ? (p.delta_softplus ? softplus(v) : v) : 0.f;
      dsp_tile[i] = p.delta_softplus ? sigmoid(v) : 1.f;
      float dy = dout_tile[i];
      if (has_z) {
        const float zz = z_tile[i];
        dy *= zz * sigmoid(zz);
      }
      dy_tile[i] = ok ? dy : 0.f;
    }
    __syncthreads();

    // State at the start of the chunk: the initial state, or the forward's checkpoint.
    float x[S];
#pragma unroll
    for (int s = 0; s < S; ++s) {
      float v = 0.f;
      if (w.ok[s]) {
        if (chunk == 0) {
          v = p.initial_state != nullptr ? p.initial_state[state_base + s] : 0.f;
        } else {
          v = p.checkpoints[((blk.b * (p.n_chunks - 1) + chunk - 1) * p.dstate + blk.n_begin + s) *
                                p.dim +
                            blk.d];
        }
      }
      x[s] = v;
    }

    // Pass 1: walk the chunk forward, keeping the state at every sub-chunk start; with z, also
    // the per-warp y (dz needs the full y).
    float x_sub[kSubChunks][S];
    float* yp = p_part + warp * kTileFloats;
#pragma unroll
    for (int j = 0; j < kSubChunks; ++j) {
#pragma unroll
      for (int s = 0; s < S; ++s)
        x_sub[j][s] = x[s];
#pragma unroll
      for (int i = 0; i < kSubChunk; ++i) {
        const int t = j * kSubChunk + i;
        const float dt = dt_tile[t * kTileStride + lane];
        const float dtu = dt * u_tile[t * kTileStride + lane];
        float Bt[S];
        param_at<kVarB>(b_tile, t, warp, w.B, Bt);
#pragma unroll
        for (int s = 0; s < S; ++s)
          x[s] = fmaf(exp2_fast(dt * w.A2[s]), x[s], dtu * Bt[s]);
        if (has_z) {
          float Ct[S];
          param_at<kVarC>(c_tile, t, warp, w.C, Ct);
          float y = 0.f;
#pragma unroll
          for (int s = 0; s < S; ++s)
            y = fmaf(Ct[s], x[s], y);
          yp[t * kTileStride + lane] = y;
        }
      }
    }

    if (has_z) {
      __syncthreads();
      for (int t = warp; t < kScanChunk; t += kScanWarps) {
        const int i = t * kTileStride + lane;
        float y = 0.f;
#pragma unroll
        for (int r = 0; r < kScanWarps; ++r)
          y += p_part[r * kTileFloats + i];
        if (fused) {
          y = fmaf(d_skip, u_tile[i], y);
          const float zz = z_tile[i];
          const float sz = sigmoid(zz);
          z_tile[i] = dout_tile[i] * y * sz * (1.f + zz * (1.f - sz));
        } else {
          dout_tile[i] = y;
        }
      }
      __syncthreads();
      if (!fused) {
        store_tile<float>(dout_tile, p.y_recomputed_partial + slab_rows, p.seqlen, blk.n_channels,
                          t0, p.seqlen);
      }
    }

    // Pass 2: sub-chunks from last to first; adjoint recurrence inside each, last step first.
    float dA_chunk[S];
#pragma unroll
    for (int s = 0; s < S; ++s)
      dA_chunk[s] = 0.f;
    float* pp = p_part + warp * kTileFloats;
    float* qp = q_part + warp * kTileFloats;
    constexpr int kParamGrads = (kVarB ? 1 : 0) + (kVarC ? 1 : 0);
    constexpr int kReduced = kParamGrads * S * kSubChunk;  // dB/dC values per lane per sub-chunk
    constexpr int kQC = kVarB ? 1 : 0;                     // index of dC in the reduced values
#pragma unroll
    for (int j = kSubChunks - 1; j >= 0; --j) {
      float xs[kSubChunk][S];     // x[t]
      float decay[kSubChunk][S];  // exp(dt[t] A)
      {
        float xr[S];
#pragma unroll
        for (int s = 0; s < S; ++s)
          xr[s] = x_sub[j][s];
#pragma unroll
        for (int i = 0; i < kSubChunk; ++i) {
          const int t = j * kSubChunk + i;
          const float dt = dt_tile[t * kTileStride + lane];
          const float dtu = dt * u_tile[t * kTileStride + lane];
          float Bt[S];
          param_at<kVarB>(b_tile, t, warp, w.B, Bt);
#pragma unroll
          for (int s = 0; s < S; ++s) {
            decay[i][s] = exp2_fast(dt * w.A2[s]);
            xr[s] = fmaf(decay[i][s], xr[s], dtu * Bt[s]);
            xs[i][s] = xr[s];
          }
        }
      }
      float reduced[kReduced > 0 ? kReduced : 1];
#pragma unroll
      for (int i = kSubChunk - 1; i >= 0; --i) {
        const int t = j * kSubChunk + i;
        const int e = t * kTileStride + lane;
        const float dt = dt_tile[e];
        const float dtu = dt * u_tile[e];
        const float dy = dy_tile[e];
        float Bt[S], Ct[S];
        param_at<kVarB>(b_tile, t, warp, w.B, Bt);
        param_at<kVarC>(c_tile, t, warp, w.C, Ct);
        float P = 0.f, Q = 0.f;
#pragma unroll
        for (int s = 0; s < S; ++s) {
          g[s] = fmaf(dy, Ct[s], g[s]);
          const float gb = g[s] * dtu;
          if constexpr (kVarB) {
            reduced[s * kSubChunk + i] = gb;
          } else {
            dB_fixed[s] += gb;
          }
          P = fmaf(g[s], Bt[s], P);
          const float h = g[s] * fmaf(-dtu, Bt[s], xs[i][s]);  // g dA x[t-1]
          Q = fmaf(w.A2[s], h, Q);
          dA_chunk[s] = fmaf(dt, h, dA_chunk[s]);
          const float cx = dy * xs[i][s];
          if constexpr (kVarC) {
            reduced[(kQC * S + s) * kSubChunk + i] = cx;
          } else {
            dC_fixed[s] += cx;
          }
          g[s] *= decay[i][s];
        }
        pp[e] = P;
        qp[e] = Q;
      }
      if constexpr (kReduced > 0) {
        reduce_scatter<kReduced, 16>(reduced, lane);
        constexpr int kShift = 5 - log2_of<kReduced>();
        if ((lane & ((1 << kShift) - 1)) == 0) {
          const int f = lane >> kShift;
          const int q = f / (S * kSubChunk);
          const int s = (f / kSubChunk) % S;
          const int i = f % kSubChunk;
          const int64_t n = blk.n_begin + s;
          const int64_t t = t0 + j * kSubChunk + i;
          if (n < p.dstate && t < p.seqlen) {
            float* dst = (kVarB && q == 0) ? p.dB_partial : p.dC_partial;
            dst[(param_part_base + n) * p.seqlen + t] = reduced[0];
          }
        }
      }
    }
#pragma unroll
    for (int s = 0; s < S; ++s)
      dA_total[s] += dA_chunk[s];
    __syncthreads();

    // Per (channel, time): sum the warps' partials into du and ddelta (or hand them to the host).
    for (int t = warp; t < kScanChunk; t += kScanWarps) {
      const int i = t * kTileStride + lane;
      float P = 0.f, Q = 0.f;
#pragma unroll
      for (int r = 0; r < kScanWarps; ++r) {
        P += p_part[r * kTileFloats + i];
        Q += q_part[r * kTileFloats + i];
      }
      Q *= kLn2;  // the partials used A log2 e
      if (fused) {
        if (t < len && blk.channel_ok) {
          const float u = u_tile[i];
          const float dy = dy_tile[i];
          const float ddelta = fmaf(u, P, Q) * dsp_tile[i];
          dD_sum = fmaf(dy, u, dD_sum);
          dbias_sum += ddelta;
          u_tile[i] = fmaf(dt_tile[i], P, d_skip * dy);
          dt_tile[i] = ddelta;
        }
      } else {
        u_tile[i] = P;
        dt_tile[i] = Q;
      }
    }
    __syncthreads();
    if (fused) {
      store_tile<InT>(u_tile, static_cast<InT*>(p.du) + bl_rows, p.seqlen, blk.n_channels, t0,
                      p.seqlen);
      store_tile<InT>(dt_tile, static_cast<InT*>(p.ddelta) + bl_rows, p.seqlen, blk.n_channels, t0,
                      p.seqlen);
      if (has_z) {
        store_tile<InT>(z_tile, static_cast<InT*>(p.dz) + bl_rows, p.seqlen, blk.n_channels, t0,
                        p.seqlen);
      }
    } else {
      store_tile<float>(u_tile, p.P_partial + slab_rows, p.seqlen, blk.n_channels, t0, p.seqlen);
      store_tile<float>(dt_tile, p.Q_partial + slab_rows, p.seqlen, blk.n_channels, t0, p.seqlen);
    }
  }

#pragma unroll
  for (int s = 0; s < S; ++s) {
    if (!w.ok[s]) continue;
    if (p.dinitial_state != nullptr) p.dinitial_state[state_base + s] = g[s];
    p.dA_partial[state_base + s] = dA_total[s];
    if constexpr (!kVarB) p.dB_partial[state_base + s] = dB_fixed[s];
    if constexpr (!kVarC) p.dC_partial[state_base + s] = dC_fixed[s];
  }

  // dD and ddelta_bias: each warp summed its share of the time steps of channel `lane`.
  if (fused) {
    __syncthreads();
    float* sums = p_part;  // (2, 4, 32)
    sums[warp * 32 + lane] = dD_sum;
    sums[(kScanWarps + warp) * 32 + lane] = dbias_sum;
    __syncthreads();
    if (warp == 0 && blk.channel_ok) {
      float dD = 0.f, dbias = 0.f;
#pragma unroll
      for (int r = 0; r < kScanWarps; ++r) {
        dD += sums[r * 32 + lane];
        dbias += sums[(kScanWarps + r) * 32 + lane];
      }
      const int64_t i = blk.b * p.dim + blk.d;
      if (p.dD_partial != nullptr) p.dD_partial[i] = dD;
      if (p.ddelta_bias_partial != nullptr) p.ddelta_bias_partial[i] = dbias;
    }
  }
}

template <typename InT, typename BcT, bool kVarB, bool kVarC>
cudaError_t launch_bwd_variant(const SelectiveScanBwdParams& p, cudaStream_t stream) {
  auto kernel = selective_scan_bwd_kernel<InT, BcT, kVarB, kVarC>;
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(kBwdSmemBytes));
  if (err != cudaSuccess) return err;
  const dim3 grid(static_cast<unsigned>(p.n_groups * p.tiles_per_group),
                  static_cast<unsigned>(p.batch), static_cast<unsigned>(p.n_slabs));
  kernel<<<grid, kScanThreads, kBwdSmemBytes, stream>>>(p);
  return cudaGetLastError();
}

template <typename InT, typename BcT>
cudaError_t launch_bwd(const SelectiveScanBwdParams& p, cudaStream_t stream) {
  if (p.var_B && p.var_C) return launch_bwd_variant<InT, BcT, true, true>(p, stream);
  if (p.var_B) return launch_bwd_variant<InT, BcT, true, false>(p, stream);
  if (p.var_C) return launch_bwd_variant<InT, BcT, false, true>(p, stream);
  return launch_bwd_variant<InT, float, false, false>(p, stream);
}

}  // namespace detail
}  // namespace ssmkit::kernels
