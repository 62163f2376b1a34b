// The CUDA selective scan (only in builds with SSMKIT_WITH_CUDA): validates the tensors, runs the
// kernels in kernels/selective_scan/ on the current stream, and is differentiable through autograd.
#pragma once

#include "ssmkit/ops/selective_scan.h"

namespace ssmkit::ops {

// Same contract as selective_scan(), for CUDA tensors: inputs (u, delta, z, and input-dependent B,
// C) float32, bfloat16 or float16; A, D, delta_bias, initial_state float32; state size N <= 256;
// batch <= 65535; length L <= 2^31 - 33. When autograd needs it, the forward also keeps the state
// every 32 steps, (B, L / 32, N, D) float32, for the backward; nothing of size (B, L, D, N) is
// stored.
SelectiveScanOutputs selective_scan_cuda(const SelectiveScanInputs& in,
                                         const SelectiveScanOptions& options = {});

// For tests: when on, every buffer the CUDA path allocates for kernel outputs (final and partial)
// is filled with NaN before the kernels run, so an element the kernels fail to write shows up.
void set_selective_scan_cuda_poison_outputs(bool enabled);

// For tests and benchmarks: 2 or 4 forces the kernels' states per thread (every layout must give
// the same results); 0 (the default) picks by grid size: the backward 4 when the grid fills the
// GPU, else 2; the forward 4.
void set_selective_scan_cuda_states_per_thread(int states);

// For tests and benchmarks: 1 forces the pipelined forward kernel (helper warps stage and finish
// the chunks while scan warps scan, 4 states per scan thread), 0 the plain one; -1 (the default)
// picks the pipelined one when the grid fits in one wave of it and no states per thread are forced.
void set_selective_scan_cuda_forward_pipelined(int pipelined);

}  // namespace ssmkit::ops
