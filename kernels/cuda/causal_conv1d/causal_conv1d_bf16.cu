// Instantiates the causal conv1d kernels for bfloat16 elements (one file per dtype so they compile
// in parallel).
#include "causal_conv1d/causal_conv1d_kernel.cuh"
#include "causal_conv1d/causal_conv1d_launch.h"

namespace ssmkit::kernels {

cudaError_t causal_conv1d_fwd_bf16(const CausalConv1dParams& p, cudaStream_t s) {
  return detail::launch_conv_fwd<__nv_bfloat16>(p, s);
}

cudaError_t causal_conv1d_bwd_bf16(const CausalConv1dBwdParams& p, cudaStream_t s) {
  return detail::launch_conv_bwd<__nv_bfloat16>(p, s);
}

}  // namespace ssmkit::kernels
