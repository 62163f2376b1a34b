// Instantiates the forward selective-scan kernels for float32 inputs (one file per dtype so they
// compile in parallel).
#include "selective_scan/selective_scan_fwd_kernel.cuh"
#include "selective_scan/selective_scan_launch.h"

namespace ssmkit::kernels {

cudaError_t selective_scan_fwd_fp32(const SelectiveScanFwdParams& p, ScanDtype bc, cudaStream_t s) {
  if (bc != ScanDtype::kFloat32) return cudaErrorInvalidValue;
  return detail::launch_fwd<float, float>(p, s);
}

}  // namespace ssmkit::kernels
