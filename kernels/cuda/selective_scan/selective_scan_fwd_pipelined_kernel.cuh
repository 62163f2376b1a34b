// Pipelined forward selective-scan kernel: the plain forward's steps (stage, scan, finish) split
// between warps, so that the scan warps do nothing but scan. One block = (batch, 32 channels of
// one group, slab of 16 states), 8 warps:
//   - 4 scan warps (lane = channel, warp = 4 states) scan chunk k;
//   - meanwhile 4 helper warps finish chunk k - 1 (sum of partial y, D u, z gate, store), copy
//     chunk k + 2 in (3 raw stages) and stage chunk k + 1 ((dt, dt u), B/C);
//   - one barrier, and on to chunk k + 1.
// Staged tiles and partial y sit in a ring of 2 slots. In the plain kernel every warp takes every
// step, with two barriers per chunk: with two blocks per multiprocessor (small grids), the
// exponential unit idled through the staging and finishing phases.
#pragma once

#include "selective_scan/selective_scan_fwd_chunk.cuh"

namespace ssmkit::kernels::detail {

constexpr int kPipeStates = 4;  // states per scan thread
constexpr int kPipeScanWarps = kScanSlabStates / kPipeStates;
constexpr int kPipeHelperWarps = 4;
constexpr int kPipeFirstHelperThread = 32 * kPipeScanWarps;
constexpr int kPipeHelperThreads = 32 * kPipeHelperWarps;
constexpr int kPipeThreads = kPipeFirstHelperThread + kPipeHelperThreads;
// Built for two blocks per multiprocessor (128 registers a thread): the kernel is for grids of at
// most that many blocks.
constexpr int kPipeBlocksPerSm = 2;
constexpr int kPipeSlots = 2;      // staged chunk + partial y: the one scanned, the one staged
constexpr int kPipeRawStages = 3;  // raw inputs: finishing, staging, copying

template <typename InT, typename BcT>
struct FwdPipeSmem {
  using In = RawTile<InT, kScanChannelsPerBlock, kPipeHelperThreads, kPipeFirstHelperThread>;
  using Par = RawTile<BcT, kScanSlabStates, kPipeHelperThreads, kPipeFirstHelperThread>;
  // Per raw stage: u, delta, z, B, C units.
  static constexpr int kStageUnits = 3 * In::kSmemVec4s + 2 * Par::kSmemVec4s;
  // Per slot, in 16-byte words: (dt, dt u) step pairs (T / 2, 33), partial y (W, 32, T+4) and the
  // B/C tile (T, 2 x 16).
  static constexpr int kYPartVec4s = kPipeScanWarps * kYWarpFloats / 4;
  static constexpr int kSlotVec4s = kDtPairVec4s + kYPartVec4s + kBcTileFloats / 4;
  static constexpr size_t kBytes =
      (kPipeRawStages * kStageUnits + kPipeSlots * kSlotVec4s) * sizeof(uint4);
};

template <typename InT, typename BcT, bool kVarB, bool kVarC>
__global__ void __launch_bounds__(kPipeThreads, kPipeBlocksPerSm)
    selective_scan_fwd_pipelined_kernel(const SelectiveScanFwdParams p) {
  using Smem = FwdPipeSmem<InT, BcT>;
  using In = typename Smem::In;
  using Par = typename Smem::Par;
  extern __shared__ float4 smem_vec[];
  uint4* raw = reinterpret_cast<uint4*>(smem_vec);  // (stages, units)
  float4* slots = reinterpret_cast<float4*>(raw + kPipeRawStages * Smem::kStageUnits);
  auto dt_pairs = [&](int slot) { return slots + slot * Smem::kSlotVec4s; };
  auto y_part = [&](int slot) { return reinterpret_cast<float*>(dt_pairs(slot) + kDtPairVec4s); };
  auto bc_tile = [&](int slot) { return y_part(slot) + kPipeScanWarps * kYWarpFloats; };
  auto raw_u = [&](int stage) { return raw + stage * Smem::kStageUnits; };
  auto raw_delta = [&](int stage) { return raw_u(stage) + In::kSmemVec4s; };
  auto raw_z = [&](int stage) { return raw_u(stage) + 2 * In::kSmemVec4s; };
  auto raw_b = [&](int stage) { return raw_u(stage) + 3 * In::kSmemVec4s; };
  auto raw_c = [&](int stage) { return raw_b(stage) + Par::kSmemVec4s; };

  const ScanBlock blk(p, kPipeStates);
  // Time indices fit in int (the host checks L <= kScanMaxSeqlen).
  const int seqlen = static_cast<int>(p.seqlen);
  const int n_chunks = static_cast<int>(p.n_chunks);

  // Both roles pass the same barriers: one after the prologue, one after every chunk.
  if (blk.warp < kPipeScanWarps) {
    ScanWeights<kVarB, kVarC, kPipeStates> w;
    w.load(p, blk);
    float x[kPipeStates];
    load_initial_state(p, blk, w, x);
    CheckpointWriter<kPipeStates> checkpoint(p, blk);
    const int y_row = blk.warp * kYWarpFloats + blk.lane * kYRowStride;
    __syncthreads();  // chunk 0 staged
    for (int chunk = 0; chunk < n_chunks; ++chunk) {
      const int slot = chunk % kPipeSlots;
      scan_chunk<kVarB, kVarC, kPipeStates>(dt_pairs(slot), bc_tile(slot), blk.warp, blk.lane, w, x,
                                            y_part(slot) + y_row);
      checkpoint.write(x, w, chunk + 1 == n_chunks);
      __syncthreads();  // chunk scanned, the next one staged
    }
    store_last_state(p, blk, w, x);
    return;
  }

  // Helper warps.
  const FwdOutput<InT> out = fwd_output<InT>(p, blk);
  UnitChannelValues<In> unit_bias, unit_skip;
  unit_bias.load(p.delta_bias, blk);
  unit_skip.load(p.D, blk);
  // A chunk is staged two chunks before it is finished: no skip term kept in between.
  UnitSkip<In, false> skip;
  int64_t y_unit_offset[In::kPerThread];
  y_unit_offsets<In>(p, blk, y_unit_offset);
  const FwdSources<InT, BcT, kVarB, kVarC, In, Par> src(p, blk);

  // Every call commits one copy group (empty past the last chunk), so that "all but the newest
  // group landed" always means the chunk about to be staged.
  auto start_copy = [&](int chunk) {
    if (chunk < n_chunks) {
      const int stage = chunk % kPipeRawStages;
      const int t0 = chunk * kScanChunk;
      src.u.start(raw_u(stage), t0);
      src.delta.start(raw_delta(stage), t0);
      if (out.has_z) src.z.start(raw_z(stage), t0);
      if constexpr (kVarB) src.b.start(raw_b(stage), t0);
      if constexpr (kVarC) src.c.start(raw_c(stage), t0);
    }
    cp_async_commit();
  };
  auto stage_chunk = [&](int chunk) {
    const int stage = chunk % kPipeRawStages;
    const int slot = chunk % kPipeSlots;
    stage_dt_pairs<InT, In>(raw_u(stage), raw_delta(stage), dt_pairs(slot), unit_bias, unit_skip,
                            skip, blk.n_channels, seqlen - chunk * kScanChunk, p.delta_softplus);
    if constexpr (kVarB) stage_bc<Par, kPipeStates>(raw_b(stage), bc_tile(slot), BcPart::kB);
    if constexpr (kVarC) stage_bc<Par, kPipeStates>(raw_c(stage), bc_tile(slot), BcPart::kC);
  };
  auto finish_chunk = [&](int chunk) {
    finish_y<InT, In, kPipeScanWarps>(y_part(chunk % kPipeSlots), raw_u(chunk % kPipeRawStages),
                                      raw_z(chunk % kPipeRawStages), unit_skip, skip, y_unit_offset,
                                      out, chunk * kScanChunk, seqlen, blk.n_channels);
  };

  for (int chunk = 0; chunk < kPipeRawStages; ++chunk)
    start_copy(chunk);
  cp_async_wait<kPipeRawStages - 1>();
  stage_chunk(0);
  __syncthreads();
  for (int chunk = 0; chunk < n_chunks; ++chunk) {
    // While the scan warps scan `chunk`: finish the one before (its slot and raw stage are then
    // free: chunk + 2 is copied into that stage), stage the one after into the other slot.
    if (chunk > 0) {
      finish_chunk(chunk - 1);
      start_copy(chunk + 2);
    }
    if (chunk + 1 < n_chunks) {
      cp_async_wait<1>();
      stage_chunk(chunk + 1);
    }
    __syncthreads();
  }
  finish_chunk(n_chunks - 1);
}

template <typename InT, typename BcT, bool kVarB, bool kVarC>
cudaError_t launch_fwd_pipelined(const SelectiveScanFwdParams& p, cudaStream_t stream) {
  static SmemLimit smem_limit;
  return launch_scan_kernel(selective_scan_fwd_pipelined_kernel<InT, BcT, kVarB, kVarC>,
                            smem_limit, kPipeThreads, FwdPipeSmem<InT, BcT>::kBytes, p, stream);
}

}  // namespace ssmkit::kernels::detail
