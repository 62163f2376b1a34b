// The CUDA profiler API around a stretch of a benchmark, so that `ncu --profile-from-start off`
// sees that stretch's kernels alone; nothing in a build without CUDA.
#pragma once

#ifdef SSMKIT_WITH_CUDA
#include <cuda_profiler_api.h>
#endif

namespace ssmkit::bench {

inline void cuda_profiler(bool on) {
#ifdef SSMKIT_WITH_CUDA
  (void)(on ? cudaProfilerStart() : cudaProfilerStop());
#else
  (void)on;
#endif
}

}  // namespace ssmkit::bench
