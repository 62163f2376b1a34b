// Launch entry points of the CUDA multi-head attention, free of LibTorch. Each returns the first
// CUDA error (cudaSuccess if none).
#pragma once

#include <cuda_runtime_api.h>

#include "attention/attention_params.h"

namespace ssmkit::kernels {

// Whether the kernels take `length` steps of heads of `head_dim` channels on the current device:
// head_dim a multiple of 4 up to 32, and the keys and values (forward) or queries, keys, values
// and output gradients (backward) of one head fitting in a thread block's shared memory.
bool attention_takes(int64_t length, int64_t head_dim);

cudaError_t attention_fwd(const AttentionParams& p, cudaStream_t stream);
cudaError_t attention_bwd(const AttentionBwdParams& p, cudaStream_t stream);

}  // namespace ssmkit::kernels
