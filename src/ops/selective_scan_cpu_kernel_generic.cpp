// The fast CPU scan loops built for the target's baseline instruction set (SSE2 on x86-64), and the
// run-time choice between them and the AVX2 build.
#define SSMKIT_SCAN_ISA generic
#include "selective_scan_cpu_kernel_impl.h"

namespace ssmkit::ops::scan_cpu {

const KernelSet kGenericKernels = {"generic", &generic::forward<float>, &generic::forward<double>,
                                   &generic::backward<float>, &generic::backward<double>};

const KernelSet& best_kernels() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (has_avx2) return kAvx2Kernels;
#endif
  return kGenericKernels;
}

}  // namespace ssmkit::ops::scan_cpu
