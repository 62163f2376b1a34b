// The CPU S4D scan loops built for AVX2 + FMA (CMakeLists.txt adds the flags to this file on
// x86-64; called only when the CPU has both).
#define SSMKIT_S4D_ISA avx2
#include "s4d_scan_cpu_kernel_impl.h"

namespace ssmkit::ops::s4d_cpu {

const KernelSet kAvx2Kernels = {"avx2", &avx2::forward<float>, &avx2::forward<double>,
                                &avx2::backward<float>, &avx2::backward<double>};

}  // namespace ssmkit::ops::s4d_cpu
