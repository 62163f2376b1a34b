// Instantiates the forward selective-scan kernels for float16 inputs (one file per dtype so they
// compile in parallel).
#include "selective_scan/selective_scan_fwd_kernel.cuh"
#include "selective_scan/selective_scan_launch.h"

namespace ssmkit::kernels {

cudaError_t selective_scan_fwd_fp16(const SelectiveScanFwdParams& p, ScanDtype bc, cudaStream_t s) {
  if (bc == ScanDtype::kFloat32) return detail::launch_fwd<__half, float>(p, s);
  if (bc != ScanDtype::kFloat16) return cudaErrorInvalidValue;
  return detail::launch_fwd<__half, __half>(p, s);
}

}  // namespace ssmkit::kernels
