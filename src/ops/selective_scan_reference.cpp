// The reference selective scan: plain LibTorch ops, one step per time index. It is the oracle the
// fast paths are tested against, so it favours obviousness over speed.
#include <torch/torch.h>

#include <vector>

#include "ssmkit/ops/selective_scan.h"

namespace ssmkit::ops {
namespace {

// B or C step by step, each step (B, D, N) for every (batch, channel). Input-dependent ones are
// split along time once with unbind: its backward stacks the L step gradients in one op, where a
// select per step would build a zero gradient of the full size per step (an O(L^2) backward that
// took minutes at L 2048).
class ParamSteps {
 public:
  ParamSteps(const at::Tensor& p,  // (D, N) | (B, N, L) | (B, G, N, L)
             ScanParamLayout layout, const SelectiveScanShape& s, at::ScalarType compute)
      : layout_(layout), shape_(s) {
    const at::Tensor values = p.to(compute);
    if (layout == ScanParamLayout::kFixed) {
      fixed_ = values.unsqueeze(0).expand({s.batch, s.dim, s.dstate});
    } else {
      steps_ = values.unbind(values.dim() - 1);  // L x (B, N) | L x (B, G, N)
    }
  }

  at::Tensor at(int64_t t) const {  // (B, D, N)
    switch (layout_) {
      case ScanParamLayout::kFixed:
        return fixed_;
      case ScanParamLayout::kVariable:
        return steps_[static_cast<size_t>(t)].unsqueeze(1).expand(
            {shape_.batch, shape_.dim, shape_.dstate});
      case ScanParamLayout::kGrouped:
        return steps_[static_cast<size_t>(t)].repeat_interleave(shape_.dim / shape_.n_groups, 1);
    }
    TORCH_CHECK(false, "unreachable");
  }

 private:
  ScanParamLayout layout_;
  SelectiveScanShape shape_;
  at::Tensor fixed_;               // (B, D, N), expanded
  std::vector<at::Tensor> steps_;  // per time step
};

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
  // Time steps split once, for a backward linear in L (see ParamSteps).
  const std::vector<at::Tensor> delta_steps = delta.unbind(2);  // L x (B, D)
  const std::vector<at::Tensor> u_steps = u.unbind(2);          // L x (B, D)
  const ParamSteps B_steps(in.B, s.b_layout, s, compute);
  const ParamSteps C_steps(in.C, s.c_layout, s, compute);
  std::vector<at::Tensor> ys;
  ys.reserve(static_cast<size_t>(s.seqlen));
  for (int64_t t = 0; t < s.seqlen; ++t) {
    const auto step = static_cast<size_t>(t);
    at::Tensor dt = delta_steps[step].unsqueeze(-1);  // (B, D, 1)
    x = torch::exp(dt * A) * x + dt * B_steps.at(t) * u_steps[step].unsqueeze(-1);
    ys.push_back((x * C_steps.at(t)).sum(-1));  // (B, D)
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
