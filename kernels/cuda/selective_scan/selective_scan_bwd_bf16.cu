// Instantiates the backward selective-scan kernels for bfloat16 inputs (one file per dtype so they
// compile in parallel).
#include "selective_scan/selective_scan_bwd_kernel.cuh"
#include "selective_scan/selective_scan_launch.h"

namespace ssmkit::kernels {

cudaError_t selective_scan_bwd_bf16(const SelectiveScanBwdParams& p, ScanDtype bc, cudaStream_t s) {
  if (bc == ScanDtype::kFloat32) return detail::launch_bwd<__nv_bfloat16, float>(p, s);
  if (bc != ScanDtype::kBFloat16) return cudaErrorInvalidValue;
  return detail::launch_bwd<__nv_bfloat16, __nv_bfloat16>(p, s);
}

}  // namespace ssmkit::kernels
