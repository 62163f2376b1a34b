// Instantiates the causal conv1d kernels for float32 elements (one file per dtype so they compile
// in parallel).
#include "causal_conv1d/causal_conv1d_kernel.cuh"
#include "causal_conv1d/causal_conv1d_launch.h"

namespace ssmkit::kernels {

cudaError_t causal_conv1d_fwd_fp32(const CausalConv1dParams& p, cudaStream_t s) {
  return detail::launch_conv_fwd<float>(p, s);
}

cudaError_t causal_conv1d_bwd_fp32(const CausalConv1dBwdParams& p, cudaStream_t s) {
  return detail::launch_conv_bwd<float>(p, s);
}

}  // namespace ssmkit::kernels
