// Backward selective-scan kernel. Same blocks as the forward (batch, 32 channels, 16 states; lane =
// channel, warp = S states), walking the chunks from last to first. Per chunk it restarts from the
// forward's checkpoint, recomputes the states once to keep one every kSubChunk steps, then for each
// sub-chunk (last first) recomputes its states and decays into registers and runs the adjoint
// recurrence g[t] = dy[t] C[t] + exp(dt[t+1] A) g[t+1] backwards. Sums over states (for du, ddelta)
// go through per-warp shared partials; sums over channels (dB, dC when input-dependent) are warp
// reduce-scatters; sums over batch and channel tiles are left to the host as float32 partials.
#pragma once

#include "selective_scan/selective_scan_common.cuh"

namespace ssmkit::kernels {
namespace detail {

// Per-thread register budgets of the backward, for S states per thread:
template <int S>
struct BwdTiling {
  // Steps whose states and decays a thread holds during the adjoint pass: 16 / S steps x S states
  // x (state, decay) = 32 registers.
  static constexpr int kSubChunk = kScanSlabStates / S;
  static constexpr int kSubChunks = kScanChunk / kSubChunk;
  // Steps whose dB/dC values are reduced over the channels together: 8 / S steps x S states x
  // (dB, dC) = 16 registers (registers limit it: the sum costs about one shuffle per value
  // whatever the group size).
  static constexpr int kReduceSteps = 8 / S;
  // Blocks per multiprocessor the kernel is built for (caps registers per thread): 3 x 128 threads
  // with 4 states (65-75 KB of shared memory each), 2 x 256 with 2.
  static constexpr int kMinBlocksPerSm = S == 4 ? 3 : 2;
  static_assert(kSubChunk % kReduceSteps == 0, "reduce groups must tile a sub-chunk");
  static_assert(kScanChunk % kSubChunk == 0, "sub-chunks must tile a chunk");
};

// Shared memory of the backward: one raw stage (the next chunk is copied in once this one's raw
// inputs are consumed), the (dt, u, dy, softplus') tile, per-warp partial sums over states, and
// the B, C tiles.
template <typename InT, typename BcT, int S>
struct BwdSmem {
  using Layout = ScanLayout<S>;
  using In = RawTile<InT, kScanChannelsPerBlock, Layout::kThreads>;
  using Par = RawTile<BcT, kScanSlabStates, Layout::kThreads>;
  static constexpr int kRawUnits =
      4 * In::kSmemVec4s + 2 * Par::kSmemVec4s;  // u, delta, dout, z, B, C
  static constexpr size_t kRawBytes = kRawUnits * sizeof(uint4);
  static constexpr size_t kStepBytes = kScanChunk * kTileStride * sizeof(float4);         // (T, 33)
  static constexpr size_t kPartBytes = 2 * Layout::kWarps * kTileFloats * sizeof(float);  // P, Q
  static constexpr size_t kParamBytes = kBcTileFloats * sizeof(float);
  static constexpr size_t kBytes = kRawBytes + kStepBytes + kPartBytes + kParamBytes;
};

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

template <typename InT, typename BcT, bool kVarB, bool kVarC, int S>
__global__ void __launch_bounds__(ScanLayout<S>::kThreads, BwdTiling<S>::kMinBlocksPerSm)
    selective_scan_bwd_kernel(const SelectiveScanBwdParams p) {
  using Smem = BwdSmem<InT, BcT, S>;
  using In = typename Smem::In;
  using Par = typename Smem::Par;
  constexpr int kWarps = Smem::Layout::kWarps;
  constexpr int kSubChunk = BwdTiling<S>::kSubChunk;
  constexpr int kSubChunks = BwdTiling<S>::kSubChunks;
  constexpr int kReduceSteps = BwdTiling<S>::kReduceSteps;
  extern __shared__ float4 smem_vec[];
  uint4* raw_u = reinterpret_cast<uint4*>(smem_vec);
  uint4* raw_delta = raw_u + In::kSmemVec4s;
  uint4* raw_dout = raw_delta + In::kSmemVec4s;
  uint4* raw_z = raw_dout + In::kSmemVec4s;
  uint4* raw_b = raw_z + In::kSmemVec4s;
  uint4* raw_c = raw_b + Par::kSmemVec4s;
  float4* step_tile =
      reinterpret_cast<float4*>(raw_c + Par::kSmemVec4s);  // (T, 33): dt, u, dy, sp'
  float* p_part = reinterpret_cast<float*>(step_tile + kScanChunk * kTileStride);  // (W, T, 33)
  float* q_part = p_part + kWarps * kTileFloats;                                   // (W, T, 33)
  float* bc_tile = q_part + kWarps * kTileFloats;                                  // (T, 2 x 16)

  const ScanBlock blk(p, S);
  ScanWeights<kVarB, kVarC, S> w;
  w.load(p, blk);
  const int lane = blk.lane;
  const int warp = blk.warp;
  const bool has_z = p.z != nullptr;
  const bool fused = p.n_slabs == 1;
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
  // dD and ddelta_bias of the rows of this thread's units, summed over its time steps.
  float dD_sum[In::kPerThread], dbias_sum[In::kPerThread];
#pragma unroll
  for (int i = 0; i < In::kPerThread; ++i)
    dD_sum[i] = dbias_sum[i] = 0.f;

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
  // dB / dC partial rows of this block: (b, group, tile, n, :).
  const int64_t param_part_base =
      ((blk.b * p.n_groups + blk.group) * p.tiles_per_group + blk.tile) * p.dstate;
  const int64_t slab_offset = blk.slab * p.batch * p.dim * p.seqlen;
  auto start_copy = [&](int64_t chunk) {
    const int64_t t0 = chunk * kScanChunk;
    In::start(raw_u, u_rows, p.u_dim_stride, blk.n_channels, t0, p.seqlen);
    In::start(raw_delta, delta_rows, p.delta_dim_stride, blk.n_channels, t0, p.seqlen);
    In::start(raw_dout, dout_rows, p.dout_dim_stride, blk.n_channels, t0, p.seqlen);
    if (has_z) In::start(raw_z, z_rows, p.z_dim_stride, blk.n_channels, t0, p.seqlen);
    if constexpr (kVarB)
      Par::start(raw_b, b_rows, p.B_dstate_stride, blk.n_slab_rows, t0, p.seqlen);
    if constexpr (kVarC)
      Par::start(raw_c, c_rows, p.C_dstate_stride, blk.n_slab_rows, t0, p.seqlen);
    cp_async_commit();
  };

  UnitChannelValues<In> unit_bias, unit_skip;
  unit_bias.load(p.delta_bias, blk);
  unit_skip.load(p.D, blk);

  start_copy(p.n_chunks - 1);
  for (int64_t chunk = p.n_chunks - 1; chunk >= 0; --chunk) {
    const int64_t t0 = chunk * kScanChunk;
    cp_async_wait<0>();  // this thread's copies of this chunk have landed

    // Per (channel, time) of this thread's units: dt, softplus', dy = dout silu(z). Zero outside
    // the sequence or the tile, so padded steps neither move the state nor contribute.
#pragma unroll
    for (int i = 0; i < In::kPerThread; ++i) {
      if (!In::owns(i)) continue;
      const int r = In::row(i);
      const int c = In::col(i);
      const bool row_ok = r < blk.n_channels;
      const float bias = unit_bias.v[i];
      float u[In::kVec], delta[In::kVec], dy[In::kVec];
      In::read(raw_u, i, u);
      In::read(raw_delta, i, delta);
      In::read(raw_dout, i, dy);
      if (has_z) {
        float z[In::kVec];
        In::read(raw_z, i, z);
#pragma unroll
        for (int e = 0; e < In::kVec; ++e)
          dy[e] *= z[e] * sigmoid<kFastMathFor<InT>>(z[e]);
      }
#pragma unroll
      for (int e = 0; e < In::kVec; ++e) {
        const bool ok = row_ok && t0 + c + e < p.seqlen;
        const float v = delta[e] + bias;
        const float dt = p.delta_softplus ? softplus<kFastMathFor<InT>>(v) : v;
        const float dsp = p.delta_softplus ? sigmoid<kFastMathFor<InT>>(v) : 1.f;
        step_tile[(c + e) * kTileStride + r] =
            make_float4(ok ? dt : 0.f, u[e], ok ? dy[e] : 0.f, dsp);
      }
    }
    if constexpr (kVarB) stage_bc<Par, S>(raw_b, bc_tile, BcPart::kB);
    if constexpr (kVarC) stage_bc<Par, S>(raw_c, bc_tile, BcPart::kC);
    // Without z the raw inputs are consumed: copy the next chunk in while this one runs.
    if (!has_z && chunk > 0) start_copy(chunk - 1);
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
      float y_sub[kSubChunk];  // stored after the sub-chunk (see P_sub below)
#pragma unroll
      for (int i = 0; i < kSubChunk; ++i) {
        const int t = j * kSubChunk + i;
        const float4 q = step_tile[t * kTileStride + lane];
        const float dtu = q.x * q.y;
        float Bt[S];
        param_at<kVarB, S>(bc_tile, t, warp, BcPart::kB, w.B, Bt);
#pragma unroll
        for (int s = 0; s < S; ++s)
          x[s] = fmaf(exp2_fast(q.x * w.A2[s]), x[s], dtu * Bt[s]);
        y_sub[i] = 0.f;
        if (has_z) {
          float Ct[S];
          param_at<kVarC, S>(bc_tile, t, warp, BcPart::kC, w.C, Ct);
#pragma unroll
          for (int s = 0; s < S; ++s)
            y_sub[i] = fmaf(Ct[s], x[s], y_sub[i]);
        }
      }
      if (has_z) {
#pragma unroll
        for (int i = 0; i < kSubChunk; ++i)
          yp[(j * kSubChunk + i) * kTileStride + lane] = y_sub[i];
      }
    }

    if (has_z) {
      __syncthreads();
      // dz = dout y silu'(z) of this thread's units (or y's partial sum, for the host).
#pragma unroll
      for (int i = 0; i < In::kPerThread; ++i) {
        if (!In::owns(i)) continue;
        const int r = In::row(i);
        const int c = In::col(i);
        if (r >= blk.n_channels || t0 + c >= p.seqlen) continue;
        const int64_t d = blk.d_begin + r;
        float y[In::kVec];
#pragma unroll
        for (int e = 0; e < In::kVec; ++e) {
          float sum = 0.f;
#pragma unroll
          for (int k = 0; k < kWarps; ++k)
            sum += p_part[k * kTileFloats + (c + e) * kTileStride + r];
          y[e] = sum;
        }
        const int64_t offset = (blk.b * p.dim + d) * p.seqlen + t0 + c;
        const int64_t count = p.seqlen - t0 - c;
        if (fused) {
          const float d_skip = unit_skip.v[i];
          float u[In::kVec], z[In::kVec], dout[In::kVec];
          In::read(raw_u, i, u);
          In::read(raw_z, i, z);
          In::read(raw_dout, i, dout);
#pragma unroll
          for (int e = 0; e < In::kVec; ++e) {
            const float sz = sigmoid<kFastMathFor<InT>>(z[e]);
            y[e] = dout[e] * fmaf(d_skip, u[e], y[e]) * sz * (1.f + z[e] * (1.f - sz));
          }
          store_values<InT>(static_cast<InT*>(p.dz) + offset, y, count);
        } else {
          store_values<float>(p.y_recomputed_partial + slab_offset + offset, y, count);
        }
      }
      if (chunk > 0) start_copy(chunk - 1);
      __syncthreads();  // y partials read before the adjoint pass overwrites them
    }

    // Pass 2: sub-chunks from last to first; adjoint recurrence inside each, last step first.
    float dA_chunk[S];
#pragma unroll
    for (int s = 0; s < S; ++s)
      dA_chunk[s] = 0.f;
    float* pp = p_part + warp * kTileFloats;
    float* qp = q_part + warp * kTileFloats;
    constexpr int kParamGrads = (kVarB ? 1 : 0) + (kVarC ? 1 : 0);
    constexpr int kReduced = kParamGrads * S * kReduceSteps;  // dB/dC values per reduce group
    constexpr int kQC = kVarB ? 1 : 0;                        // index of dC in the reduced values
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
          const float4 q = step_tile[t * kTileStride + lane];
          const float dtu = q.x * q.y;
          float Bt[S];
          param_at<kVarB, S>(bc_tile, t, warp, BcPart::kB, w.B, Bt);
#pragma unroll
          for (int s = 0; s < S; ++s) {
            decay[i][s] = exp2_fast(q.x * w.A2[s]);
            xr[s] = fmaf(decay[i][s], xr[s], dtu * Bt[s]);
            xs[i][s] = xr[s];
          }
        }
      }
      float reduced[kReduced > 0 ? kReduced : 1];
      // This sub-chunk's per-warp partials of du and ddelta, stored after its last step: a
      // shared-memory store inside the step loop kept the next step's reads behind it.
      float P_sub[kSubChunk], Q_sub[kSubChunk];
#pragma unroll
      for (int i = kSubChunk - 1; i >= 0; --i) {
        const int t = j * kSubChunk + i;
        const int ri = i % kReduceSteps;  // position in the reduce group
        const int e = t * kTileStride + lane;
        const float4 q = step_tile[e];  // dt, u, dy, softplus'
        const float dt = q.x;
        const float dtu = q.x * q.y;
        const float dy = q.z;
        float Bt[S], Ct[S];
        params_at(bc_tile, t, warp, w, Bt, Ct);
        float P = 0.f, Q = 0.f;
#pragma unroll
        for (int s = 0; s < S; ++s) {
          g[s] = fmaf(dy, Ct[s], g[s]);
          const float gb = g[s] * dtu;
          if constexpr (kVarB) {
            reduced[s * kReduceSteps + ri] = gb;
          } else {
            dB_fixed[s] += gb;
          }
          P = fmaf(g[s], Bt[s], P);
          const float h = g[s] * fmaf(-dtu, Bt[s], xs[i][s]);  // g dA x[t-1]
          Q = fmaf(w.A2[s], h, Q);
          dA_chunk[s] = fmaf(dt, h, dA_chunk[s]);
          const float cx = dy * xs[i][s];
          if constexpr (kVarC) {
            reduced[(kQC * S + s) * kReduceSteps + ri] = cx;
          } else {
            dC_fixed[s] += cx;
          }
          g[s] *= decay[i][s];
        }
        P_sub[i] = P;
        Q_sub[i] = Q;
        if constexpr (kReduced > 0) {
          if (ri == 0) {  // steps t .. t + kReduceSteps - 1 are complete
            reduce_scatter<kReduced, 16>(reduced, lane);
            constexpr int kShift = 5 - log2_of<kReduced>();
            if ((lane & ((1 << kShift) - 1)) == 0) {
              const int f = lane >> kShift;
              const int qi = f / (S * kReduceSteps);
              const int s = (f / kReduceSteps) % S;
              const int64_t n = blk.n_begin + s;
              const int64_t tt = t0 + t + f % kReduceSteps;
              if (n < p.dstate && tt < p.seqlen) {
                float* dst = (kVarB && qi == 0) ? p.dB_partial : p.dC_partial;
                dst[(param_part_base + n) * p.seqlen + tt] = reduced[0];
              }
            }
          }
        }
      }
#pragma unroll
      for (int i = 0; i < kSubChunk; ++i) {
        const int e = (j * kSubChunk + i) * kTileStride + lane;
        pp[e] = P_sub[i];
        qp[e] = Q_sub[i];
      }
    }
#pragma unroll
    for (int s = 0; s < S; ++s)
      dA_total[s] += dA_chunk[s];
    __syncthreads();

    // du and ddelta of this thread's units from the warps' partial sums (or the sums themselves,
    // for the host when the states are split over slabs).
#pragma unroll
    for (int i = 0; i < In::kPerThread; ++i) {
      if (!In::owns(i)) continue;
      const int r = In::row(i);
      const int c = In::col(i);
      if (r >= blk.n_channels || t0 + c >= p.seqlen) continue;
      const int64_t d = blk.d_begin + r;
      float P[In::kVec], Q[In::kVec];
#pragma unroll
      for (int e = 0; e < In::kVec; ++e) {
        float ps = 0.f, qs = 0.f;
#pragma unroll
        for (int k = 0; k < kWarps; ++k) {
          ps += p_part[k * kTileFloats + (c + e) * kTileStride + r];
          qs += q_part[k * kTileFloats + (c + e) * kTileStride + r];
        }
        P[e] = ps;
        Q[e] = qs * kLn2;  // the partials used A log2 e
      }
      const int64_t offset = (blk.b * p.dim + d) * p.seqlen + t0 + c;
      const int64_t count = p.seqlen - t0 - c;
      if (fused) {
        const float d_skip = unit_skip.v[i];
#pragma unroll
        for (int e = 0; e < In::kVec; ++e) {
          const float4 q = step_tile[(c + e) * kTileStride + r];  // dt, u, dy, softplus'
          const float ddelta = fmaf(q.y, P[e], Q[e]) * q.w;
          const bool ok = e < count;
          dD_sum[i] += ok ? q.z * q.y : 0.f;
          dbias_sum[i] += ok ? ddelta : 0.f;
          P[e] = fmaf(q.x, P[e], d_skip * q.z);  // du
          Q[e] = ddelta;
        }
        store_values<InT>(static_cast<InT*>(p.du) + offset, P, count);
        store_values<InT>(static_cast<InT*>(p.ddelta) + offset, Q, count);
      } else {
        store_values<float>(p.P_partial + slab_offset + offset, P, count);
        store_values<float>(p.Q_partial + slab_offset + offset, Q, count);
      }
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

  // dD and ddelta_bias: sum over the lanes holding the units of one row, then one lane writes.
  if (fused) {
#pragma unroll
    for (int i = 0; i < In::kPerThread; ++i) {
#pragma unroll
      for (int m = In::kUnitsPerRow / 2; m >= 1; m /= 2) {
        dD_sum[i] += __shfl_xor_sync(kFullMask, dD_sum[i], m);
        dbias_sum[i] += __shfl_xor_sync(kFullMask, dbias_sum[i], m);
      }
      if (!In::owns(i) || In::unit(i) % In::kUnitsPerRow != 0) continue;
      const int r = In::row(i);
      if (r >= blk.n_channels) continue;
      const int64_t k = blk.b * p.dim + blk.d_begin + r;
      if (p.dD_partial != nullptr) p.dD_partial[k] = dD_sum[i];
      if (p.ddelta_bias_partial != nullptr) p.ddelta_bias_partial[k] = dbias_sum[i];
    }
  }
}

template <typename InT, typename BcT, bool kVarB, bool kVarC, int S>
cudaError_t launch_bwd_variant(const SelectiveScanBwdParams& p, cudaStream_t stream) {
  static SmemLimit smem_limit;
  return launch_scan_kernel(selective_scan_bwd_kernel<InT, BcT, kVarB, kVarC, S>, smem_limit,
                            ScanLayout<S>::kThreads, BwdSmem<InT, BcT, S>::kBytes, p, stream);
}

template <typename InT, typename BcT, bool kVarB, bool kVarC>
cudaError_t launch_bwd_layout(const SelectiveScanBwdParams& p, cudaStream_t stream) {
  int states = 0;
  const cudaError_t err = states_per_thread(p, kMinBlocksPerSmForFourStates, &states);
  if (err != cudaSuccess) return err;
  return states == 4 ? launch_bwd_variant<InT, BcT, kVarB, kVarC, 4>(p, stream)
                     : launch_bwd_variant<InT, BcT, kVarB, kVarC, 2>(p, stream);
}

template <typename InT, typename BcT>
cudaError_t launch_bwd(const SelectiveScanBwdParams& p, cudaStream_t stream) {
  if (p.var_B && p.var_C) return launch_bwd_layout<InT, BcT, true, true>(p, stream);
  if (p.var_B) return launch_bwd_layout<InT, BcT, true, false>(p, stream);
  if (p.var_C) return launch_bwd_layout<InT, BcT, false, true>(p, stream);
  return launch_bwd_layout<InT, float, false, false>(p, stream);
}

}  // namespace detail
}  // namespace ssmkit::kernels
