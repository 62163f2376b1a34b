// Instantiates the causal conv1d kernels for float16 elements (one file per dtype so they compile
// in parallel).
#include "causal_conv1d/causal_conv1d_kernel.cuh"
#include "causal_conv1d/causal_conv1d_launch.h"

namespace ssmkit::kernels {

cudaError_t causal_conv1d_fwd_fp16(const CausalConv1dParams& p, cudaStream_t s) {
  return detail::launch_conv_fwd<__half>(p, s);
}

cudaError_t causal_conv1d_bwd_fp16(const CausalConv1dBwdParams& p, cudaStream_t s) {
  return detail::launch_conv_bwd<__half>(p, s);
}

}  // namespace ssmkit::kernels
