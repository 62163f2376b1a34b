// The CPU S4D scan loops built for the target's baseline instruction set (SSE2 on x86-64).
#define SSMKIT_S4D_ISA generic
#include "s4d_scan_cpu_kernel_impl.h"

namespace ssmkit::ops::s4d_cpu {

const KernelSet kGenericKernels = {"generic", &generic::forward<float>, &generic::forward<double>,
                                   &generic::backward<float>, &generic::backward<double>};

const KernelSet& best_kernels() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) return kAvx512Kernels;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return kAvx2Kernels;
#endif
  return kGenericKernels;
}

}  // namespace ssmkit::ops::s4d_cpu
