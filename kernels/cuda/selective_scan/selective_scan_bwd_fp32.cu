// Instantiates the backward selective-scan kernels for float32 inputs (one file per dtype so they
// compile in parallel).
#include "selective_scan/selective_scan_bwd_kernel.cuh"
#include "selective_scan/selective_scan_launch.h"

namespace ssmkit::kernels {

cudaError_t selective_scan_bwd_fp32(const SelectiveScanBwdParams& p, ScanDtype bc, cudaStream_t s) {
  if (bc != ScanDtype::kFloat32) return cudaErrorInvalidValue;
  return detail::launch_bwd<float, float>(p, s);
}

}  // namespace ssmkit::kernels
