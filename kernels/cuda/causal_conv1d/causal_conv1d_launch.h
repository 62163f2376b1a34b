// Launch entry points of the causal conv1d kernels, free of LibTorch: the host code fills a params
// struct and calls these on its stream. Each returns the first CUDA error (cudaSuccess if none).
#pragma once

#include <cuda_runtime_api.h>

#include "causal_conv1d/causal_conv1d_params.h"

namespace ssmkit::kernels {

// One pair per element dtype, defined in causal_conv1d_{fp32,bf16,fp16}.cu.
cudaError_t causal_conv1d_fwd_fp32(const CausalConv1dParams& p, cudaStream_t s);
cudaError_t causal_conv1d_fwd_bf16(const CausalConv1dParams& p, cudaStream_t s);
cudaError_t causal_conv1d_fwd_fp16(const CausalConv1dParams& p, cudaStream_t s);
cudaError_t causal_conv1d_bwd_fp32(const CausalConv1dBwdParams& p, cudaStream_t s);
cudaError_t causal_conv1d_bwd_bf16(const CausalConv1dBwdParams& p, cudaStream_t s);
cudaError_t causal_conv1d_bwd_fp16(const CausalConv1dBwdParams& p, cudaStream_t s);

inline cudaError_t launch_causal_conv1d_fwd(const CausalConv1dParams& p, ElementDtype dtype,
                                            cudaStream_t s) {
  switch (dtype) {
    case ElementDtype::kFloat32:
      return causal_conv1d_fwd_fp32(p, s);
    case ElementDtype::kBFloat16:
      return causal_conv1d_fwd_bf16(p, s);
    case ElementDtype::kFloat16:
      return causal_conv1d_fwd_fp16(p, s);
  }
  return cudaErrorInvalidValue;
}

inline cudaError_t launch_causal_conv1d_bwd(const CausalConv1dBwdParams& p, ElementDtype dtype,
                                            cudaStream_t s) {
  switch (dtype) {
    case ElementDtype::kFloat32:
      return causal_conv1d_bwd_fp32(p, s);
    case ElementDtype::kBFloat16:
      return causal_conv1d_bwd_bf16(p, s);
    case ElementDtype::kFloat16:
      return causal_conv1d_bwd_fp16(p, s);
  }
  return cudaErrorInvalidValue;
}

}  // namespace ssmkit::kernels
