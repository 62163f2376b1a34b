// glibc malloc thresholds for training workloads.
#include "ssmkit/util/heap_reuse.h"

#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ssmkit {
namespace {

// glibc's largest mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX): blocks above it are
// rare and big enough that mapping them costs little per byte.
constexpr int kMmapThreshold = 32 * 1024 * 1024;
// Free memory at the heap's top kept before it is returned to the kernel.
constexpr int kTrimThreshold = 512 * 1024 * 1024;

}  // namespace

void keep_freed_heap_for_reuse() {
#if defined(__GLIBC__)
  static const bool done = [] {
    // A user's GLIBC_TUNABLES settings win.
    if (std::getenv("GLIBC_TUNABLES") != nullptr) return true;
    mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
    mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
    return true;
  }();
  (void)done;
#endif
}

}  // namespace ssmkit
