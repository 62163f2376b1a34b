// The CPU S4D scan loops built for AVX-512F + FMA (CMakeLists.txt adds the flags to this file on
// x86-64; called only when the CPU has both).
#define SSMKIT_S4D_ISA avx512
#include "s4d_scan_cpu_kernel_impl.h"

namespace ssmkit::ops::s4d_cpu {

const KernelSet kAvx512Kernels = {"avx512", &avx512::forward<float>, &avx512::forward<double>,
                                  &avx512::backward<float>, &avx512::backward<double>};

}  // namespace ssmkit::ops::s4d_cpu
