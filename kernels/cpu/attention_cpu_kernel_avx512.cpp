// The CPU attention loops built for AVX-512F + FMA (CMakeLists.txt adds the flags to this file on
// x86-64; called only when the CPU has both).
#define SSMKIT_KERNEL_ISA avx512
#include "attention_cpu_kernel_impl.h"

namespace ssmkit::kernels_cpu {

const AttentionCpuKernels kAttentionAvx512Kernels = {"avx512", &avx512::forward, &avx512::backward};

}  // namespace ssmkit::kernels_cpu
