// glibc malloc thresholds for training workloads.
#include "ssmkit/util/heap_reuse.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

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
  // mallopt takes an int: thresholds beyond it are clamped.
  const auto as_int = [](std::size_t bytes) {
    return static_cast<int>(std::min<std::size_t>(bytes, std::numeric_limits<int>::max()));
  };
  mallopt(M_MMAP_THRESHOLD, as_int(mmap_threshold));
  mallopt(M_TRIM_THRESHOLD, as_int(std::max(kMinTrimThreshold, 2 * mmap_threshold)));
#else
  (void)mmap_threshold;
#endif
}

}  // namespace ssmkit
