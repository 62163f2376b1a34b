// S4D's SSM from its parameters: argument checks, the discretisation in LibTorch's complex
// operations, and on CUDA the autograd function around the kernels that discretise by
// themselves.
#include "ssmkit/ops/s4d_ssm.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/torch.h>

#include "ssmkit/ops/s4d_scan.h"
#include "ssmkit/ops/s4d_scan_cuda.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::ops {
namespace {

constexpr const char* kS4DSsmFn = "s4d_ssm";

#ifdef SSMKIT_WITH_CUDA
class FusedS4DSsmFunction : public torch::autograd::Function<FusedS4DSsmFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& u, const at::Tensor& log_dt,
                                                const at::Tensor& log_A_real,
                                                const at::Tensor& A_imag, const at::Tensor& C,
                                                const at::Tensor& D) {
    ctx->save_for_backward({u, log_dt, log_A_real, A_imag, C, D});
    return {s4d_ssm_cuda_forward(u.to(at::kFloat).contiguous(), log_dt.contiguous(),
                                 log_A_real.contiguous(), A_imag.contiguous(), C.contiguous(),
                                 D.contiguous())};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const torch::autograd::variable_list s = ctx->get_saved_variables();
    const S4DSsmGradients g = s4d_ssm_cuda_backward(
        s[0].to(at::kFloat).contiguous(), s[1].contiguous(), s[2].contiguous(), s[3].contiguous(),
        s[4].contiguous(), s[5].contiguous(), grad_outputs[0].to(at::kFloat).contiguous());
    return {g.grad_u.to(s[0].scalar_type()),
            g.grad_log_dt,
            g.grad_log_A_real,
            g.grad_A_imag,
            g.grad_C,
            g.grad_skip};
  }
};

// The kernels take float32 parameters and float32 or 16-bit inputs.
bool fused_kernels_take(const at::Tensor& u, const at::Tensor& log_dt, const at::Tensor& log_A_real,
                        const at::Tensor& A_imag, const at::Tensor& C, const at::Tensor& D) {
  for (const at::Tensor* p : {&log_dt, &log_A_real, &A_imag, &C, &D}) {
    if (p->scalar_type() != at::kFloat) return false;
  }
  return s4d_scan_cuda_supports(u, log_A_real.size(1));
}
#endif

}  // namespace

S4DDiscretization s4d_discretize(const at::Tensor& log_dt, const at::Tensor& log_A_real,
                                 const at::Tensor& A_imag, const at::Tensor& C) {
  const at::Tensor dt = torch::exp(log_dt).unsqueeze(-1);                // (R, 1)
  const at::Tensor A = torch::complex(-torch::exp(log_A_real), A_imag);  // (R, M)
  const at::Tensor dt_A = A * dt;                                        // (R, M)
  const at::Tensor decay = torch::exp(dt_A);                             // (R, M)
  // Zero-order hold: B_bar = (exp(dt A) - 1) / A * B with B = 1, folded into C; each mode stands
  // for a conjugate pair, hence the factor 2 on its real part.
  const at::Tensor weight = 2.0 * torch::view_as_complex(C) * (decay - 1.0) / A;  // (R, M)
  return {dt_A, decay, weight};
}

at::Tensor s4d_ssm(const at::Tensor& u, const at::Tensor& log_dt, const at::Tensor& log_A_real,
                   const at::Tensor& A_imag, const at::Tensor& C, const at::Tensor& D) {
  check_rank(u, kS4DSsmFn, "u", "(B, L, H)", 3);
  check_rank(log_A_real, kS4DSsmFn, "log_A_real", "(R, M)", 2);
  const int64_t channels = u.size(2), rows = log_A_real.size(0), modes = log_A_real.size(1);
  TORCH_CHECK(rows == channels || rows == 2 * channels, kS4DSsmFn, ": 'log_A_real' has ", rows,
              " rows, expected H (", channels, ") or 2 H (both directions)");
  check_shape(log_dt, kS4DSsmFn, "log_dt", "(R)", {rows});
  check_shape(A_imag, kS4DSsmFn, "A_imag", "(R, M)", {rows, modes});
  check_shape(C, kS4DSsmFn, "C", "(R, M, 2)", {rows, modes, 2});
  check_shape(D, kS4DSsmFn, "D", "(H)", {channels});
  for (const auto& [t, name] : {std::pair<const at::Tensor&, const char*>{log_dt, "log_dt"},
                                {log_A_real, "log_A_real"},
                                {A_imag, "A_imag"},
                                {C, "C"},
                                {D, "D"}}) {
    check_same_device(t, u, kS4DSsmFn, name, "u");
  }
#ifdef SSMKIT_WITH_CUDA
  if (u.is_cuda() && fused_kernels_take(u, log_dt, log_A_real, A_imag, C, D))
    return FusedS4DSsmFunction::apply(u, log_dt, log_A_real, A_imag, C, D)[0];
#endif
  const S4DDiscretization z = s4d_discretize(log_dt, log_A_real, A_imag, C);
  const std::vector<int64_t> shape = {rows / channels, channels, modes};
  return s4d_scan(u, torch::real(z.decay).view(shape), torch::imag(z.decay).view(shape),
                  torch::real(z.weight).view(shape), torch::imag(z.weight).view(shape), D);
}

}  // namespace ssmkit::ops
