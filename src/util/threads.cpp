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
  if (threads <= 0) {
    if (const char* env = std::getenv("SSMKIT_NUM_THREADS"); env != nullptr && *env != '\0') {
      threads = std::atoi(env);
    }
  }
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  at::set_num_threads(threads);
  return at::get_num_threads();
}

}  // namespace ssmkit
