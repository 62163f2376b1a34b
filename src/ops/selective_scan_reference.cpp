// The reference selective scan: plain LibTorch ops, one step per time index. It is the oracle the
// fast paths are tested against, so it favours obviousness over speed.
#include <torch/torch.h>

#include "ssmkit/ops/selective_scan.h"

namespace ssmkit::ops {
namespace {

// Returns the value of B or C at time t for every (batch, channel): (B, D, N).
at::Tensor param_at(const at::Tensor& p,  // (D, N) | (B, N, L) | (B, G, N, L)
                    ScanParamLayout layout, const SelectiveScanShape& s, int64_t t,
                    at::ScalarType compute) {
  switch (layout) {
    case ScanParamLayout::kFixed:
      return p.to(compute).unsqueeze(0).expand({s.batch, s.dim, s.dstate});
    case ScanParamLayout::kVariable:
      return p.select(2, t).to(compute).unsqueeze(1).expand({s.batch, s.dim, s.dstate});
    case ScanParamLayout::kGrouped:
      return p.select(3, t).to(compute).repeat_interleave(s.dim / s.n_groups, 1);
  }
  TORCH_CHECK(false, "unreachable");
}

}  // namespace

SelectiveScanOutputs selective_scan_reference(const SelectiveScanInputs& in,
                                              const SelectiveScanOptions& options) {
  const SelectiveScanShape s = check_selective_scan_inputs(in, "selective_scan_reference");
  const auto compute = in.u.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;

  at::Tensor u = in.u.to(compute);          // (B, D, L)
  at::Tensor delta = in.delta.to(compute);  // (B, D, L)
  at::Tensor A = in.A.to(compute);          // (D, N)
  if (in.delta_bias.defined()) delta = delta + in.delta_bias.to(compute).view({1, s.dim, 1});
  if (options.delta_softplus) delta = torch::nn::functional::softplus(delta);

  at::Tensor x = in.initial_state.defined()  // (B, D, N)
                     ? in.initial_state.to(compute)
                     : torch::zeros({s.batch, s.dim, s.dstate}, u.options());
  std::vector<at::Tensor> ys;
  ys.reserve(static_cast<size_t>(s.seqlen));
  for (int64_t t = 0; t < s.seqlen; ++t) {
    at::Tensor dt = delta.select(2, t).unsqueeze(-1);  // (B, D, 1)
    at::Tensor Bt = param_at(in.B, s.b_layout, s, t, compute);
    at::Tensor Ct = param_at(in.C, s.c_layout, s, t, compute);
    x = torch::exp(dt * A) * x + dt * Bt * u.select(2, t).unsqueeze(-1);
    ys.push_back((x * Ct).sum(-1));  // (B, D)
  }
  at::Tensor y = torch::stack(ys, 2);  // (B, D, L)
  if (in.D.defined()) y = y + u * in.D.to(compute).view({1, s.dim, 1});
  if (in.z.defined()) y = y * torch::silu(in.z.to(compute));

  SelectiveScanOutputs out;
  out.y = y.to(in.u.scalar_type());
  if (options.return_last_state) out.last_state = x;
  return out;
}

}  // namespace ssmkit::ops
