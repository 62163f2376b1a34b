// The fast CPU selective scan: hand-written loops parallel over (batch, channel), with its own
// backward (the reverse-time recurrence; states are recomputed chunk by chunk from a few kept ones,
// so beyond inputs and outputs it needs O(B * D * N * L / 64) memory, never a (B, D, L, N) tensor).
#pragma once

#include <string>
#include <vector>

#include "ssmkit/ops/selective_scan.h"

namespace ssmkit::ops {

// The selective scan of selective_scan.h on CPU tensors. Differentiable once in every input
// (gradients in each input's dtype); a double backward throws.
SelectiveScanOutputs selective_scan_cpu(const SelectiveScanInputs& in,
                                        const SelectiveScanOptions& options = {});

// The instruction sets the loops are built for and this CPU runs, fastest first
// (e.g. {"avx2", "generic"}).
std::vector<std::string> selective_scan_cpu_isas();

// The instruction set selective_scan_cpu uses: the fastest unless changed below.
std::string selective_scan_cpu_isa();

// Makes later calls use `isa`, one of selective_scan_cpu_isas() (for tests and benchmarks that
// compare builds); throws otherwise.
void set_selective_scan_cpu_isa(const std::string& isa);

}  // namespace ssmkit::ops
