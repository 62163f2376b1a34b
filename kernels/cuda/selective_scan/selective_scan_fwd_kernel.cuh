// Forward selective-scan kernel. One block = (batch, 32 channels of one group, slab of 16 states);
// lane = channel, warp = S (4 or 2) states. Each thread runs its S recurrences sequentially over
// time in registers, chunk by chunk. Per chunk: the next chunk's inputs start copying
// asynchronously into the other raw buffer; each thread turns its own units of this chunk into
// (dt, dt u) and the interleaved B/C tile; barrier; scan, partial y per warp; barrier; each thread
// sums the partials of its own units, finishes and stores their y. (The pipelined kernel in
// selective_scan_fwd_pipelined_kernel.cuh does the same steps with the work split between warps.)
#pragma once

#include "selective_scan/selective_scan_fwd_chunk.cuh"
#include "selective_scan/selective_scan_fwd_pipelined_kernel.cuh"

namespace ssmkit::kernels {
namespace detail {

// Raw input buffers of the forward: the chunk being used and the one being copied in.
constexpr int kFwdStages = 2;

template <typename InT, typename BcT, int S>
struct FwdSmem {
  using Layout = ScanLayout<S>;
  using In = RawTile<InT, kScanChannelsPerBlock, Layout::kThreads>;
  using Par = RawTile<BcT, kScanSlabStates, Layout::kThreads>;
  // Per stage: u, delta, z, B, C raw units.
  static constexpr int kStageUnits = 3 * In::kSmemVec4s + 2 * Par::kSmemVec4s;
  static constexpr size_t kRawBytes = kFwdStages * kStageUnits * sizeof(uint4);
  static constexpr size_t kDtBytes = kDtPairVec4s * sizeof(float4);  // (T / 2, 33) step pairs
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
  float4* dt_pairs = reinterpret_cast<float4*>(raw + kFwdStages * Smem::kStageUnits);  // (T/2, 33)
  float* y_part = reinterpret_cast<float*>(dt_pairs + kDtPairVec4s);  // (W, 32, T+4)
  float* bc_tile = y_part + kWarps * kYWarpFloats;                    // (T, 2 x 16)
  auto raw_u = [&](int stage) { return raw + stage * Smem::kStageUnits; };
  auto raw_delta = [&](int stage) { return raw_u(stage) + In::kSmemVec4s; };
  auto raw_z = [&](int stage) { return raw_u(stage) + 2 * In::kSmemVec4s; };
  auto raw_b = [&](int stage) { return raw_u(stage) + 3 * In::kSmemVec4s; };
  auto raw_c = [&](int stage) { return raw_b(stage) + Par::kSmemVec4s; };

  const ScanBlock blk(p, S);
  ScanWeights<kVarB, kVarC, S> w;
  w.load(p, blk);
  const FwdOutput<InT> out = fwd_output<InT>(p, blk);

  UnitChannelValues<In> unit_bias, unit_skip;
  unit_bias.load(p.delta_bias, blk);
  unit_skip.load(p.D, blk);
  UnitSkip<In, true> skip;

  float x[S];
  load_initial_state(p, blk, w, x);

  // Each input's units located once; starting a chunk's copy then only offsets them.
  const FwdSources<InT, BcT, kVarB, kVarC, In, Par> src(p, blk);
  // Time indices fit in int (the host checks L <= kScanMaxSeqlen): 32-bit loop arithmetic, where
  // 64-bit compares and products were a good part of the per-chunk instructions.
  const int seqlen = static_cast<int>(p.seqlen);
  const int n_chunks = static_cast<int>(p.n_chunks);
  auto start_copy = [&](int chunk) {
    const int stage = chunk % kFwdStages;
    const int t0 = chunk * kScanChunk;
    src.u.start(raw_u(stage), t0);
    src.delta.start(raw_delta(stage), t0);
    if (out.has_z) src.z.start(raw_z(stage), t0);
    if constexpr (kVarB) src.b.start(raw_b(stage), t0);
    if constexpr (kVarC) src.c.start(raw_c(stage), t0);
  };
  CheckpointWriter<S> checkpoint(p, blk);
  int64_t y_unit_offset[In::kPerThread];
  y_unit_offsets<In>(p, blk, y_unit_offset);

  start_copy(0);
  cp_async_commit();
  for (int chunk = 0; chunk < n_chunks; ++chunk) {
    const int stage = chunk % kFwdStages;
    const int t0 = chunk * kScanChunk;
    if (chunk + 1 < n_chunks) start_copy(chunk + 1);
    cp_async_commit();
    cp_async_wait<1>();  // this thread's copies of this chunk have landed

    stage_dt_pairs<InT, In>(raw_u(stage), raw_delta(stage), dt_pairs, unit_bias, unit_skip, skip,
                            blk.n_channels, seqlen - t0, p.delta_softplus);
    if constexpr (kVarB) stage_bc<Par, S>(raw_b(stage), bc_tile, BcPart::kB);
    if constexpr (kVarC) stage_bc<Par, S>(raw_c(stage), bc_tile, BcPart::kC);
    __syncthreads();

    scan_chunk<kVarB, kVarC, S>(dt_pairs, bc_tile, blk.warp, blk.lane, w, x,
                                y_part + blk.warp * kYWarpFloats + blk.lane * kYRowStride);
    checkpoint.write(x, w, chunk + 1 == n_chunks);
    __syncthreads();

    finish_y<InT, In, kWarps>(y_part, raw_u(stage), raw_z(stage), unit_skip, skip, y_unit_offset,
                              out, t0, seqlen, blk.n_channels);
  }
  store_last_state(p, blk, w, x);
}

template <typename InT, typename BcT, bool kVarB, bool kVarC, int S>
cudaError_t launch_fwd_variant(const SelectiveScanFwdParams& p, cudaStream_t stream) {
  static SmemLimit smem_limit;
  return launch_scan_kernel(selective_scan_fwd_kernel<InT, BcT, kVarB, kVarC, S>, smem_limit,
                            ScanLayout<S>::kThreads, FwdSmem<InT, BcT, S>::kBytes, p, stream);
}

// Which forward kernel runs: as asked (p.fwd_pipelined, p.states_per_thread), else the pipelined
// one when the grid fits in one wave of it, the plain one with 4 states per thread otherwise.
// Measured with each forced (docs/perf.md, H200 and H100): the pipelined kernel is the fastest
// at 2 blocks per multiprocessor or fewer, and the plain forward is faster with 4 states than
// with 2 at every row of the benchmark table.
template <typename InT, typename BcT, bool kVarB, bool kVarC>
cudaError_t launch_fwd_layout(const SelectiveScanFwdParams& p, cudaStream_t stream) {
  bool pipelined = p.fwd_pipelined == 1;
  if (p.fwd_pipelined < 0 && p.states_per_thread == 0) {
    double blocks = 0;
    const cudaError_t err = blocks_per_multiprocessor(p, &blocks);
    if (err != cudaSuccess) return err;
    pipelined = blocks <= kPipeBlocksPerSm;
  }
  if (pipelined) return launch_fwd_pipelined<InT, BcT, kVarB, kVarC>(p, stream);
  return p.states_per_thread == 2 ? launch_fwd_variant<InT, BcT, kVarB, kVarC, 2>(p, stream)
                                  : launch_fwd_variant<InT, BcT, kVarB, kVarC, 4>(p, stream);
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
