// The fast CPU scan loops built for AVX-512F + FMA (CMakeLists.txt adds the flags to this file on
// x86-64): one 16-float register per 16 states. Called only when the CPU has both; elsewhere this
// is another generic build, never used.
#define SSMKIT_SCAN_ISA avx512
#include "selective_scan_cpu_kernel_impl.h"

namespace ssmkit::ops::scan_cpu {

const KernelSet kAvx512Kernels = {"avx512",
                                  avx512::kStateBlock,
                                  &avx512::forward<float>,
                                  &avx512::forward<double>,
                                  &avx512::backward<float>,
                                  &avx512::backward<double>};

}  // namespace ssmkit::ops::scan_cpu
