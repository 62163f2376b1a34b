// Launch entry points of the selective-scan kernels, free of LibTorch: the host code fills a params
// struct and calls these on its stream. Each returns the first CUDA error (cudaSuccess if none).
#pragma once

#include <cuda_runtime_api.h>

#include "selective_scan/selective_scan_params.h"

namespace ssmkit::kernels {

// One per input dtype, defined in selective_scan_{fwd,bwd}_{fp32,bf16,fp16}.cu. `bc` is the dtype
// of input-dependent B and C: the input dtype or float32.
cudaError_t selective_scan_fwd_fp32(const SelectiveScanFwdParams& p, ScanDtype bc, cudaStream_t s);
cudaError_t selective_scan_fwd_bf16(const SelectiveScanFwdParams& p, ScanDtype bc, cudaStream_t s);
cudaError_t selective_scan_fwd_fp16(const SelectiveScanFwdParams& p, ScanDtype bc, cudaStream_t s);
cudaError_t selective_scan_bwd_fp32(const SelectiveScanBwdParams& p, ScanDtype bc, cudaStream_t s);
cudaError_t selective_scan_bwd_bf16(const SelectiveScanBwdParams& p, ScanDtype bc, cudaStream_t s);
cudaError_t selective_scan_bwd_fp16(const SelectiveScanBwdParams& p, ScanDtype bc, cudaStream_t s);
// The sums of the backward's partials, all in one launch (selective_scan_partial_sums.cu).
cudaError_t selective_scan_partial_sums(const ScanPartialSumsParams& p, cudaStream_t s);

inline cudaError_t launch_selective_scan_fwd(const SelectiveScanFwdParams& p, ScanDtype input,
                                             ScanDtype bc, cudaStream_t s) {
  switch (input) {
    case ScanDtype::kFloat32:
      return selective_scan_fwd_fp32(p, bc, s);
    case ScanDtype::kBFloat16:
      return selective_scan_fwd_bf16(p, bc, s);
    case ScanDtype::kFloat16:
      return selective_scan_fwd_fp16(p, bc, s);
  }
  return cudaErrorInvalidValue;
}

inline cudaError_t launch_selective_scan_bwd(const SelectiveScanBwdParams& p, ScanDtype input,
                                             ScanDtype bc, cudaStream_t s) {
  switch (input) {
    case ScanDtype::kFloat32:
      return selective_scan_bwd_fp32(p, bc, s);
    case ScanDtype::kBFloat16:
      return selective_scan_bwd_bf16(p, bc, s);
    case ScanDtype::kFloat16:
      return selective_scan_bwd_fp16(p, bc, s);
  }
  return cudaErrorInvalidValue;
}

}  // namespace ssmkit::kernels
