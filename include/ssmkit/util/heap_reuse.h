// Keeps freed tensor memory in the process for reuse. With glibc's defaults a training step's
// large temporaries come from mmap and go back to the kernel when freed (or the heap top is trimmed
// once it is 2x the adaptive mmap threshold), so every step faults all of its pages in again: on
// Ti-MAE pretraining that was a third of the CPU time (page faults in the kernel). A fixed mmap
// threshold of 32 MiB and a trim threshold of 512 MiB make the allocations reuse heap pages.
#pragma once

#include <cstddef>

namespace ssmkit {

// Blocks at least this large are mapped on their own (and unmapped when freed).
constexpr std::size_t kDefaultMmapThreshold = std::size_t{32} << 20;
// S4Model's (B, L, 2H) GLU tensors are 51 MB at batch 64: a larger threshold keeps them in the
// heap, and its CPU step is 15-20% faster; Vision Mamba's is slower with it (docs/perf.md).
constexpr std::size_t kS4MmapThreshold = std::size_t{256} << 20;

// Sets the allocator's mmap threshold and a trim threshold of twice it, at least 512 MiB (glibc;
// a no-op elsewhere). init_threads() calls it with the default, so every program, benchmark and
// test main gets it; a program may call it again with its own threshold. The GLIBC_TUNABLES
// environment, when set, overrides both.
void keep_freed_heap_for_reuse(std::size_t mmap_threshold = kDefaultMmapThreshold);

}  // namespace ssmkit
