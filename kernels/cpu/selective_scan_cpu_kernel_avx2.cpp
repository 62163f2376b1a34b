// The fast CPU scan loops built for AVX2 + FMA (CMakeLists.txt adds -mavx2 -mfma to this file on
// x86-64). Called only when the CPU has both; elsewhere this is a second generic build, never used.
#define SSMKIT_SCAN_ISA avx2
#include "selective_scan_cpu_kernel_impl.h"

namespace ssmkit::ops::scan_cpu {

const KernelSet kAvx2Kernels = {"avx2",
                                avx2::kStateBlock,
                                &avx2::forward<float>,
                                &avx2::forward<double>,
                                &avx2::backward<float>,
                                &avx2::backward<double>};

}  // namespace ssmkit::ops::scan_cpu
