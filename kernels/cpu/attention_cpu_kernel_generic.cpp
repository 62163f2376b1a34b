// The CPU attention loops built for the target's baseline instruction set (SSE2 on x86-64), the
// scratch size and the builds this CPU runs.
#define SSMKIT_KERNEL_ISA generic
#include "attention_cpu_kernel_impl.h"

#include <vector>

#include "cpu_features.h"

namespace ssmkit::kernels_cpu {

const AttentionCpuKernels kAttentionGenericKernels = {"generic", &generic::forward,
                                                      &generic::backward};

int64_t attention_cpu_scratch_floats(const kernels::AttentionShape& shape) {
  return generic::scratch_floats(shape);
}

std::vector<const AttentionCpuKernels*> runnable_attention_kernels() {
  std::vector<const AttentionCpuKernels*> sets;
  if (cpu_runs_avx512()) sets.push_back(&kAttentionAvx512Kernels);
  if (cpu_runs_avx2()) sets.push_back(&kAttentionAvx2Kernels);
  sets.push_back(&kAttentionGenericKernels);
  return sets;
}

}  // namespace ssmkit::kernels_cpu
