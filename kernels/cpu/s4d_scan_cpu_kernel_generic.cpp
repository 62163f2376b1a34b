// The CPU S4D scan loops built for the target's baseline instruction set (SSE2 on x86-64).
#define SSMKIT_S4D_ISA generic
#include "s4d_scan_cpu_kernel_impl.h"

#include "cpu_features.h"

namespace ssmkit::ops::s4d_cpu {

const KernelSet kGenericKernels = {"generic", &generic::forward<float>, &generic::forward<double>,
                                   &generic::backward<float>, &generic::backward<double>};

const KernelSet& best_kernels() {
  if (kernels_cpu::cpu_runs_avx512()) return kAvx512Kernels;
  if (kernels_cpu::cpu_runs_avx2()) return kAvx2Kernels;
  return kGenericKernels;
}

}  // namespace ssmkit::ops::s4d_cpu
