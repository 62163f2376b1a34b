// The fast CPU scan loops built for the target's baseline instruction set (SSE2 on x86-64), and the
// run-time choice between them and the builds for wider vectors.
#define SSMKIT_SCAN_ISA generic
#include "selective_scan_cpu_kernel_impl.h"

namespace ssmkit::ops::scan_cpu {

const KernelSet kGenericKernels = {"generic",
                                   generic::kStateBlock,
                                   &generic::forward<float>,
                                   &generic::forward<double>,
                                   &generic::backward<float>,
                                   &generic::backward<double>};

std::vector<const KernelSet*> runnable_kernels() {
  std::vector<const KernelSet*> sets;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) {
    sets.push_back(&kAvx512Kernels);
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    sets.push_back(&kAvx2Kernels);
#endif
  sets.push_back(&kGenericKernels);
  return sets;
}

}  // namespace ssmkit::ops::scan_cpu
