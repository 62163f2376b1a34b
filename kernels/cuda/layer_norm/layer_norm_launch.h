// Launch entry points of the CUDA LayerNorm, free of LibTorch. Each returns the first CUDA error
// (cudaSuccess if none).
#pragma once

#include <cuda_runtime_api.h>

#include "layer_norm/layer_norm_params.h"

namespace ssmkit::kernels {

// Whether the kernels take rows of this many channels.
bool layer_norm_takes(int64_t channels);

// The warps of the backward pass for `rows` rows: the rows of partial sums it writes.
int64_t layer_norm_bwd_warps(int64_t rows);

cudaError_t layer_norm_fwd(const LayerNormParams& p, cudaStream_t stream);
cudaError_t layer_norm_bwd(const LayerNormBwdParams& p, cudaStream_t stream);

}  // namespace ssmkit::kernels
