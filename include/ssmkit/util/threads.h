// Thread setup for LibTorch's intra-op pool: some LibTorch builds start with one thread, so every
// program and test main calls this once to use all cores.
#pragma once

namespace ssmkit {

// Sets LibTorch's intra-op thread count: `threads` when > 0, else the SSMKIT_NUM_THREADS
// environment variable when set, else OMP_NUM_THREADS, else the number of cores. Returns the count in effect. Also keeps
// freed heap memory for reuse (heap_reuse.h), which every program's CPU speed relies on.
int init_threads(int threads = 0);

}  // namespace ssmkit
