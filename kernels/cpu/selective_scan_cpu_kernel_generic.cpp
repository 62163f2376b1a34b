// The fast CPU scan loops built for the target's baseline instruction set (SSE2 on x86-64), and the
// run-time choice between them and the builds for wider vectors.
#define SSMKIT_SCAN_ISA generic
#include "selective_scan_cpu_kernel_impl.h"

#include "cpu_features.h"

namespace ssmkit::ops::scan_cpu {

const KernelSet kGenericKernels = {"generic",
                                   generic::kStateBlock,
                                   &generic::forward<float>,
                                   &generic::forward<double>,
                                   &generic::backward<float>,
                                   &generic::backward<double>};

std::vector<const KernelSet*> runnable_kernels() {
  std::vector<const KernelSet*> sets;
  if (kernels_cpu::cpu_runs_avx512()) sets.push_back(&kAvx512Kernels);
  if (kernels_cpu::cpu_runs_avx2()) sets.push_back(&kAvx2Kernels);
  sets.push_back(&kGenericKernels);
  return sets;
}

}  // namespace ssmkit::ops::scan_cpu
