// Host side of the CUDA S4D scan: prepared tensors to kernel params, launched on the current
// stream (ops/s4d_scan.cpp holds the checks and the autograd function).
#include "ssmkit/ops/s4d_scan_cuda.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include <atomic>

#include "s4d_scan/s4d_scan_launch.h"

namespace ssmkit::ops {
namespace {

namespace k = ssmkit::kernels;

std::atomic<int> g_modes_per_lane{0};

void fill_params(const at::Tensor& u, const at::Tensor& decay_re, const at::Tensor& decay_im,
                 const at::Tensor& weight_re, const at::Tensor& weight_im, const at::Tensor& skip,
                 k::S4DScanParams* p) {
  p->batch = u.size(0);
  p->length = u.size(1);
  p->channels = u.size(2);
  p->directions = static_cast<int>(decay_re.size(0));
  p->modes_per_lane = g_modes_per_lane.load(std::memory_order_relaxed);
  p->modes = decay_re.size(1);
  p->u = u.data_ptr<float>();
  p->decay_re = decay_re.data_ptr<float>();
  p->decay_im = decay_im.data_ptr<float>();
  p->weight_re = weight_re.data_ptr<float>();
  p->weight_im = weight_im.data_ptr<float>();
  p->skip = skip.data_ptr<float>();
}

// The SSM as S4D's parameters, (R, M) with R = directions * H.
void fill_ssm_params(const at::Tensor& u, const at::Tensor& log_dt, const at::Tensor& log_A_real,
                     const at::Tensor& A_imag, const at::Tensor& C, const at::Tensor& skip,
                     k::S4DScanParams* p) {
  p->batch = u.size(0);
  p->length = u.size(1);
  p->channels = u.size(2);
  p->directions = static_cast<int>(log_A_real.size(0) / u.size(2));
  p->modes_per_lane = g_modes_per_lane.load(std::memory_order_relaxed);
  p->modes = log_A_real.size(1);
  p->u = u.data_ptr<float>();
  p->log_dt = log_dt.data_ptr<float>();
  p->log_A_real = log_A_real.data_ptr<float>();
  p->A_imag = A_imag.data_ptr<float>();
  p->C = C.data_ptr<float>();
  p->skip = skip.data_ptr<float>();
}

}  // namespace

void set_s4d_scan_cuda_modes_per_lane(int modes) {
  TORCH_CHECK(modes == 0 || modes == 4 || modes == 8, "set_s4d_scan_cuda_modes_per_lane: ", modes,
              " given, expected 0, 4 or 8");
  g_modes_per_lane.store(modes, std::memory_order_relaxed);
}

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
  // (B, directions, M, H) each
  p.grad_row_stride = g.grad_decay_re.stride(0);
  p.grad_direction_stride = g.grad_decay_re.stride(1);
  p.grad_mode_stride = g.grad_decay_re.stride(2);
  p.grad_channel_stride = g.grad_decay_re.stride(3);
  p.grad_skip = g.grad_skip.data_ptr<float>();
  p.grad_skip_row_stride = g.grad_skip.stride(0);
  C10_CUDA_CHECK(k::s4d_scan_bwd(p, at::cuda::getCurrentCUDAStream()));
}

at::Tensor s4d_ssm_cuda_forward(const at::Tensor& u, const at::Tensor& log_dt,
                                const at::Tensor& log_A_real, const at::Tensor& A_imag,
                                const at::Tensor& C, const at::Tensor& skip) {
  const c10::cuda::CUDAGuard guard(u.device());
  at::Tensor y = at::empty_like(u);  // (B, L, H)
  k::S4DScanParams p;
  fill_ssm_params(u, log_dt, log_A_real, A_imag, C, skip, &p);
  p.y = y.data_ptr<float>();
  C10_CUDA_CHECK(k::s4d_scan_fwd(p, at::cuda::getCurrentCUDAStream()));
  return y;
}

S4DSsmGradients s4d_ssm_cuda_backward(const at::Tensor& u, const at::Tensor& log_dt,
                                      const at::Tensor& log_A_real, const at::Tensor& A_imag,
                                      const at::Tensor& C, const at::Tensor& skip,
                                      const at::Tensor& grad_y) {
  const c10::cuda::CUDAGuard guard(u.device());
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  const int64_t batch = u.size(0), channels = u.size(2), rows = log_A_real.size(0),
                modes = log_A_real.size(1), block = rows * modes;
  k::S4DScanBwdParams p;
  fill_ssm_params(u, log_dt, log_A_real, A_imag, C, skip, &p);
  S4DSsmGradients g;
  g.grad_u = at::empty_like(u);
  p.grad_y = grad_y.data_ptr<float>();
  p.grad_u = g.grad_u.data_ptr<float>();
  // One row per batch element holds the discretised SSM's gradients (decay re, im, weight re,
  // im, each (R, M) as the parameters) and the skip's (H), so that one sum reduces them all. An
  // empty sequence writes none of them.
  const at::Tensor rows_of_batch = u.size(1) == 0
                                       ? at::zeros({batch, 4 * block + channels}, u.options())
                                       : at::empty({batch, 4 * block + channels}, u.options());
  float* base = rows_of_batch.data_ptr<float>();
  p.grad_decay_re = base;
  p.grad_decay_im = base + block;
  p.grad_weight_re = base + 2 * block;
  p.grad_weight_im = base + 3 * block;
  p.grad_row_stride = rows_of_batch.stride(0);
  p.grad_direction_stride = channels * modes;
  p.grad_mode_stride = 1;
  p.grad_channel_stride = modes;
  p.grad_skip = base + 4 * block;
  p.grad_skip_row_stride = rows_of_batch.stride(0);
  C10_CUDA_CHECK(k::s4d_scan_bwd(p, stream));

  const at::Tensor sums = rows_of_batch.sum(0);  // (4 R M + H)
  g.grad_log_dt = at::empty_like(log_dt);
  g.grad_log_A_real = at::empty_like(log_A_real);
  g.grad_A_imag = at::empty_like(A_imag);
  g.grad_C = at::empty_like(C);
  g.grad_skip = sums.narrow(0, 4 * block, channels);
  k::S4DDiscretizationBwdParams d;
  d.rows = rows;
  d.modes = modes;
  d.log_dt = p.log_dt;
  d.log_A_real = p.log_A_real;
  d.A_imag = p.A_imag;
  d.C = p.C;
  const float* summed = sums.data_ptr<float>();
  d.grad_decay_re = summed;
  d.grad_decay_im = summed + block;
  d.grad_weight_re = summed + 2 * block;
  d.grad_weight_im = summed + 3 * block;
  d.grad_log_dt = g.grad_log_dt.data_ptr<float>();
  d.grad_log_A_real = g.grad_log_A_real.data_ptr<float>();
  d.grad_A_imag = g.grad_A_imag.data_ptr<float>();
  d.grad_C = g.grad_C.data_ptr<float>();
  C10_CUDA_CHECK(k::s4d_discretization_bwd(d, stream));
  return g;
}

}  // namespace ssmkit::ops
