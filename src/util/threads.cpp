// Sets LibTorch's intra-op thread count from the flag, the environment or the core count.
#include "ssmkit/util/threads.h"

#include <ATen/Parallel.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "ssmkit/util/heap_reuse.h"

namespace ssmkit {

int init_threads(int threads) {
  keep_freed_heap_for_reuse();
  // SSMKIT_NUM_THREADS, else OMP_NUM_THREADS as PyTorch reads it (ssmkit_run and torchrun set
  // it to 1 per worker: workers with every core each would fight over them).
  for (const char* name : {"SSMKIT_NUM_THREADS", "OMP_NUM_THREADS"}) {
    const char* env = std::getenv(name);
    if (threads <= 0 && env != nullptr && *env != '\0') threads = std::atoi(env);
  }
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  at::set_num_threads(threads);
  return at::get_num_threads();
}

}  // namespace ssmkit
