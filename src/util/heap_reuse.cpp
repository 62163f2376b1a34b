// glibc malloc thresholds for training workloads.
#include "ssmkit/util/heap_reuse.h"

#include <algorithm>
#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ssmkit {
namespace {

// Free memory at the heap's top kept before it is returned to the kernel, at least.
constexpr std::size_t kMinTrimThreshold = std::size_t{512} << 20;

}  // namespace

void keep_freed_heap_for_reuse(std::size_t mmap_threshold) {
#if defined(__GLIBC__)
  // A user's GLIBC_TUNABLES settings win.
  if (std::getenv("GLIBC_TUNABLES") != nullptr) return;
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmap_threshold));
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(std::max(kMinTrimThreshold, 2 * mmap_threshold)));
#else
  (void)mmap_threshold;
#endif
}

}  // namespace ssmkit
