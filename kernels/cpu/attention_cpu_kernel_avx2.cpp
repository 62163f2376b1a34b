// The CPU attention loops built for AVX2 + FMA (CMakeLists.txt adds the flags to this file on
// x86-64; called only when the CPU has both).
#define SSMKIT_KERNEL_ISA avx2
#include "attention_cpu_kernel_impl.h"

namespace ssmkit::kernels_cpu {

const AttentionCpuKernels kAttentionAvx2Kernels = {"avx2", &avx2::forward, &avx2::backward};

}  // namespace ssmkit::kernels_cpu
