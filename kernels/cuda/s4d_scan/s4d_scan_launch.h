// Launch entry points of the CUDA S4D scan, free of LibTorch. Each returns the first CUDA error
// (cudaSuccess if none).
#pragma once

#include <cuda_runtime_api.h>

#include "s4d_scan/s4d_scan_params.h"

namespace ssmkit::kernels {

cudaError_t s4d_scan_fwd(const S4DScanParams& p, cudaStream_t stream);
cudaError_t s4d_scan_bwd(const S4DScanBwdParams& p, cudaStream_t stream);
cudaError_t s4d_discretization_bwd(const S4DDiscretizationBwdParams& p, cudaStream_t stream);

}  // namespace ssmkit::kernels
