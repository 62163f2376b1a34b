// Keeps freed tensor memory in the process for reuse. With glibc's defaults a training step's
// large temporaries come from mmap and go back to the kernel when freed (or the heap top is trimmed
// once it is 2x the adaptive mmap threshold), so every step faults all of its pages in again: on
// Ti-MAE pretraining that was a third of the CPU time (page faults in the kernel). A fixed mmap
// threshold of 32 MiB and a trim threshold of 512 MiB make the allocations reuse heap pages.
#pragma once

namespace ssmkit {

// Sets the allocator's thresholds once (glibc; a no-op elsewhere). init_threads() calls it, so
// every program, benchmark and test main gets it; the GLIBC_TUNABLES environment still overrides.
void keep_freed_heap_for_reuse();

}  // namespace ssmkit
