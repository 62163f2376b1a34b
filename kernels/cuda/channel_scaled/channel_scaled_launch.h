// Launch entry points of the CUDA channel-scaled activations, free of LibTorch. Each returns the
// first CUDA error (cudaSuccess if none).
#pragma once

#include <cuda_runtime_api.h>

#include "channel_scaled/channel_scaled_params.h"

namespace ssmkit::kernels {

cudaError_t gelu_channel_scale_fwd(const GeluChannelScaleParams& p, cudaStream_t stream);
cudaError_t gelu_channel_scale_bwd(const GeluChannelScaleBwdParams& p, cudaStream_t stream);
cudaError_t glu_channel_scale_fwd(const GluChannelScaleParams& p, cudaStream_t stream);
cudaError_t glu_channel_scale_bwd(const GluChannelScaleBwdParams& p, cudaStream_t stream);

}  // namespace ssmkit::kernels
