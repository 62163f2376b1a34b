// Host side of the CUDA S4D scan: prepared tensors to kernel params, launched on the current
// stream (ops/s4d_scan.cpp holds the checks and the autograd function).
#include "ssmkit/ops/s4d_scan_cuda.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include "s4d_scan/s4d_scan_launch.h"

namespace ssmkit::ops {
namespace {

namespace k = ssmkit::kernels;

void fill_params(const at::Tensor& u, const at::Tensor& decay_re, const at::Tensor& decay_im,
                 const at::Tensor& weight_re, const at::Tensor& weight_im, const at::Tensor& skip,
                 k::S4DScanParams* p) {
  p->batch = u.size(0);
  p->length = u.size(1);
  p->channels = u.size(2);
  p->directions = static_cast<int>(decay_re.size(0));
  p->modes = decay_re.size(1);
  p->u = u.data_ptr<float>();
  p->decay_re = decay_re.data_ptr<float>();
  p->decay_im = decay_im.data_ptr<float>();
  p->weight_re = weight_re.data_ptr<float>();
  p->weight_im = weight_im.data_ptr<float>();
  p->skip = skip.data_ptr<float>();
}

}  // namespace

bool s4d_scan_cuda_supports(const at::Tensor& u, int64_t modes) {
  const at::ScalarType t = u.scalar_type();
  return u.is_cuda() && (t == at::kFloat || t == at::kBFloat16 || t == at::kHalf) && modes >= 1 &&
         modes <= k::kS4DScanMaxModes;
}

at::Tensor s4d_scan_cuda_forward(const at::Tensor& u, const at::Tensor& decay_re,
                                 const at::Tensor& decay_im, const at::Tensor& weight_re,
                                 const at::Tensor& weight_im, const at::Tensor& skip) {
  const c10::cuda::CUDAGuard guard(u.device());
  at::Tensor y = at::empty_like(u);  // (B, L, H)
  k::S4DScanParams p;
  fill_params(u, decay_re, decay_im, weight_re, weight_im, skip, &p);
  p.y = y.data_ptr<float>();
  C10_CUDA_CHECK(k::s4d_scan_fwd(p, at::cuda::getCurrentCUDAStream()));
  return y;
}

void s4d_scan_cuda_backward(const at::Tensor& u, const at::Tensor& decay_re,
                            const at::Tensor& decay_im, const at::Tensor& weight_re,
                            const at::Tensor& weight_im, const at::Tensor& skip,
                            const at::Tensor& grad_y, const S4DScanRowGradients& g) {
  const c10::cuda::CUDAGuard guard(u.device());
  k::S4DScanBwdParams p;
  fill_params(u, decay_re, decay_im, weight_re, weight_im, skip, &p);
  p.grad_y = grad_y.data_ptr<float>();
  p.grad_u = g.grad_u.data_ptr<float>();
  p.grad_decay_re = g.grad_decay_re.data_ptr<float>();
  p.grad_decay_im = g.grad_decay_im.data_ptr<float>();
  p.grad_weight_re = g.grad_weight_re.data_ptr<float>();
  p.grad_weight_im = g.grad_weight_im.data_ptr<float>();
  p.grad_skip = g.grad_skip.data_ptr<float>();
  C10_CUDA_CHECK(k::s4d_scan_bwd(p, at::cuda::getCurrentCUDAStream()));
}

}  // namespace ssmkit::ops
