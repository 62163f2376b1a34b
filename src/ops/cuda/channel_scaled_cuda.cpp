// Host side of the CUDA channel-scaled activations: tensors to kernel params, launched on the
// current stream (ops/channel_scaled_activations.cpp holds the checks and the autograd function).
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include "channel_scaled/channel_scaled_launch.h"
#include "ssmkit/ops/channel_scaled_activations_cuda.h"

namespace ssmkit::ops {
namespace {

namespace k = ssmkit::kernels;

const float* optional_data(const at::Tensor& t) {
  return t.defined() ? t.data_ptr<float>() : nullptr;
}

// B, L and H of a (B, L, H) tensor, the scale and the residual.
template <typename Params>
void fill_shape(const at::Tensor& x, int64_t channels, const at::Tensor& scale, Params* p) {
  p->batch = x.size(0);
  p->length = x.size(1);
  p->channels = channels;
  p->scale = optional_data(scale);
}

}  // namespace

bool channel_scaled_cuda_takes(const at::Tensor& x) {
  return x.is_cuda() && x.scalar_type() == at::kFloat && x.dim() == 3;
}

at::Tensor gelu_channel_scaled_cuda_forward(const at::Tensor& y, const at::Tensor& scale) {
  const c10::cuda::CUDAGuard guard(y.device());
  at::Tensor z = at::empty_like(y);  // (B, L, H)
  k::GeluChannelScaleParams p;
  fill_shape(y, y.size(2), scale, &p);
  p.y = y.data_ptr<float>();
  p.z = z.data_ptr<float>();
  C10_CUDA_CHECK(k::gelu_channel_scale_fwd(p, at::cuda::getCurrentCUDAStream()));
  return z;
}

at::Tensor gelu_channel_scaled_cuda_backward(const at::Tensor& grad_z, const at::Tensor& y,
                                             const at::Tensor& scale) {
  const c10::cuda::CUDAGuard guard(y.device());
  at::Tensor grad_y = at::empty_like(y);  // (B, L, H)
  k::GeluChannelScaleBwdParams p;
  fill_shape(y, y.size(2), scale, &p);
  p.y = y.data_ptr<float>();
  p.grad_z = grad_z.data_ptr<float>();
  p.grad_y = grad_y.data_ptr<float>();
  C10_CUDA_CHECK(k::gelu_channel_scale_bwd(p, at::cuda::getCurrentCUDAStream()));
  return grad_y;
}

at::Tensor glu_channel_scaled_cuda_forward(const at::Tensor& lin, const at::Tensor& scale,
                                           const at::Tensor& residual) {
  const c10::cuda::CUDAGuard guard(lin.device());
  const int64_t channels = lin.size(2) / 2;
  at::Tensor z = at::empty({lin.size(0), lin.size(1), channels}, lin.options());  // (B, L, H)
  k::GluChannelScaleParams p;
  fill_shape(lin, channels, scale, &p);
  p.lin = lin.data_ptr<float>();
  p.residual = optional_data(residual);
  p.z = z.data_ptr<float>();
  C10_CUDA_CHECK(k::glu_channel_scale_fwd(p, at::cuda::getCurrentCUDAStream()));
  return z;
}

at::Tensor glu_channel_scaled_cuda_backward(const at::Tensor& grad_z, const at::Tensor& lin,
                                            const at::Tensor& scale) {
  const c10::cuda::CUDAGuard guard(lin.device());
  at::Tensor grad_lin = at::empty_like(lin);  // (B, L, 2H)
  k::GluChannelScaleBwdParams p;
  fill_shape(lin, lin.size(2) / 2, scale, &p);
  p.lin = lin.data_ptr<float>();
  p.grad_z = grad_z.data_ptr<float>();
  p.grad_lin = grad_lin.data_ptr<float>();
  C10_CUDA_CHECK(k::glu_channel_scale_bwd(p, at::cuda::getCurrentCUDAStream()));
  return grad_lin;
}

}  // namespace ssmkit::ops
