// Host side of the CUDA LayerNorm: tensors to kernel params, launched on the current stream
// (ops/layer_norm.cpp holds the checks and the autograd function).
#include "ssmkit/ops/layer_norm_cuda.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include <cstdint>

#include "float4_aligned.h"
#include "layer_norm/layer_norm_launch.h"

namespace ssmkit::ops {

namespace k = ssmkit::kernels;

bool layer_norm_cuda_takes(const at::Tensor& x, const at::Tensor& weight) {
  return x.is_cuda() && x.scalar_type() == at::kFloat && weight.scalar_type() == at::kFloat &&
         x.dim() >= 1 && k::layer_norm_takes(x.size(-1));
}

LayerNormCudaForward layer_norm_cuda_forward(const at::Tensor& input, const at::Tensor& weight_in,
                                             const at::Tensor& bias_in, double eps) {
  const at::Tensor x = float4_aligned(input), weight = float4_aligned(weight_in),
                   bias = float4_aligned(bias_in);
  const c10::cuda::CUDAGuard guard(x.device());
  const int64_t channels = x.size(-1), rows = x.numel() / channels;
  LayerNormCudaForward out;
  out.y = at::empty_like(x);
  out.mean = at::empty({rows}, x.options());
  out.rstd = at::empty({rows}, x.options());
  k::LayerNormParams p;
  p.rows = rows;
  p.channels = channels;
  p.eps = static_cast<float>(eps);
  p.x = x.data_ptr<float>();
  p.weight = weight.data_ptr<float>();
  p.bias = bias.data_ptr<float>();
  p.y = out.y.data_ptr<float>();
  p.mean = out.mean.data_ptr<float>();
  p.rstd = out.rstd.data_ptr<float>();
  C10_CUDA_CHECK(k::layer_norm_fwd(p, at::cuda::getCurrentCUDAStream()));
  return out;
}

LayerNormCudaGradients layer_norm_cuda_backward(const at::Tensor& grad_in, const at::Tensor& input,
                                                const at::Tensor& weight_in, const at::Tensor& mean,
                                                const at::Tensor& rstd) {
  const at::Tensor grad_y = float4_aligned(grad_in), x = float4_aligned(input),
                   weight = float4_aligned(weight_in);
  const c10::cuda::CUDAGuard guard(x.device());
  const int64_t channels = x.size(-1), rows = x.numel() / channels;
  const int64_t partial_rows = k::layer_norm_bwd_warps(rows);
  LayerNormCudaGradients out;
  out.grad_x = at::empty_like(x);
  // The weight's and the bias's partial sums, one row per warp, summed at once.
  const at::Tensor partials = at::empty({2, partial_rows, channels}, x.options());
  k::LayerNormBwdParams p;
  p.rows = rows;
  p.channels = channels;
  p.grad_y = grad_y.data_ptr<float>();
  p.x = x.data_ptr<float>();
  p.weight = weight.data_ptr<float>();
  p.mean = mean.data_ptr<float>();
  p.rstd = rstd.data_ptr<float>();
  p.grad_x = out.grad_x.data_ptr<float>();
  p.partial_weight = partials[0].data_ptr<float>();
  p.partial_bias = partials[1].data_ptr<float>();
  p.partial_rows = partial_rows;
  C10_CUDA_CHECK(k::layer_norm_bwd(p, at::cuda::getCurrentCUDAStream()));
  const at::Tensor sums = partials.sum(1);  // (2, H)
  out.grad_weight = sums[0];
  out.grad_bias = sums[1];
  return out;
}

}  // namespace ssmkit::ops
