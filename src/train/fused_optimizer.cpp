// Adam, AdamW and SGD updates on flat buffers, with the arithmetic of LibTorch's own step().
#include "ssmkit/train/fused_optimizer.h"

#include <ATen/ATen.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <cmath>

#include "optimizer_state_key.h"

namespace ssmkit::train {
namespace {

using torch::optim::AdamOptions;
using torch::optim::AdamParamState;
using torch::optim::AdamWOptions;
using torch::optim::AdamWParamState;
using torch::optim::SGDOptions;
using torch::optim::SGDParamState;

std::vector<at::Tensor> all_parameters(torch::optim::Optimizer& optimizer) {
  std::vector<at::Tensor> parameters;
  for (auto& group : optimizer.param_groups()) {
    for (const auto& p : group.params())
      parameters.push_back(p);
  }
  return parameters;
}

torch::optim::OptimizerParamState* find_state(torch::optim::Optimizer& optimizer,
                                              const at::Tensor& p) {
  auto& state = optimizer.state();
  const auto it = state.find(optimizer_state_key(state, p));
  return it == state.end() ? nullptr : it->second.get();
}

// The Adam/AdamW step count of `p`, 0 without state; -1 for a state of another optimizer.
template <typename State>
int64_t adam_steps(torch::optim::Optimizer& optimizer, const at::Tensor& p) {
  auto* state = find_state(optimizer, p);
  if (state == nullptr) return 0;
  auto* adam = dynamic_cast<State*>(state);
  return adam == nullptr ? -1 : adam->step();
}

// Whether `p` has an SGD momentum buffer; -1 for a state of another optimizer.
int64_t sgd_steps(torch::optim::Optimizer& optimizer, const at::Tensor& p) {
  auto* state = find_state(optimizer, p);
  if (state == nullptr) return 0;
  auto* sgd = dynamic_cast<SGDParamState*>(state);
  return sgd == nullptr ? -1 : (sgd->momentum_buffer().defined() ? 1 : 0);
}

template <typename Fn>
std::string same_steps_in_each_group(torch::optim::Optimizer& optimizer, Fn&& steps_of) {
  for (auto& group : optimizer.param_groups()) {
    int64_t first = -2;
    for (const auto& p : group.params()) {
      const int64_t steps = steps_of(p);
      if (steps < 0) return "its state belongs to another kind of optimizer";
      if (first != -2 && steps != first) {
        return "the parameters of a group have taken different numbers of steps";
      }
      first = steps;
    }
  }
  return "";
}

}  // namespace

std::string FusedOptimizer::unsupported_reason(torch::optim::Optimizer& optimizer) {
  std::string reason = FlatParameters::unsupported_reason(all_parameters(optimizer));
  if (!reason.empty()) return reason;
  if (dynamic_cast<torch::optim::Adam*>(&optimizer) != nullptr) {
    return same_steps_in_each_group(
        optimizer, [&](const at::Tensor& p) { return adam_steps<AdamParamState>(optimizer, p); });
  }
  if (dynamic_cast<torch::optim::AdamW*>(&optimizer) != nullptr) {
    return same_steps_in_each_group(
        optimizer, [&](const at::Tensor& p) { return adam_steps<AdamWParamState>(optimizer, p); });
  }
  if (dynamic_cast<torch::optim::SGD*>(&optimizer) != nullptr) {
    return same_steps_in_each_group(optimizer,
                                    [&](const at::Tensor& p) { return sgd_steps(optimizer, p); });
  }
  return "only Adam, AdamW and SGD are fused";
}

std::vector<at::Tensor> FusedOptimizer::checked_parameters(torch::optim::Optimizer& optimizer) {
  const std::string reason = unsupported_reason(optimizer);
  TORCH_CHECK(reason.empty(), "FusedOptimizer: cannot fuse this optimizer: ", reason);
  return all_parameters(optimizer);
}

FusedOptimizer::FusedOptimizer(torch::optim::Optimizer& optimizer)
    : optimizer_(optimizer),
      kind_(dynamic_cast<torch::optim::Adam*>(&optimizer) != nullptr    ? Kind::kAdam
            : dynamic_cast<torch::optim::AdamW*>(&optimizer) != nullptr ? Kind::kAdamW
                                                                        : Kind::kSgd),
      flat_(checked_parameters(optimizer)) {
  size_t index = 0;
  auto& torch_groups = optimizer_.param_groups();
  for (size_t t = 0; t < torch_groups.size(); ++t) {
    const size_t count = torch_groups[t].params().size();
    if (count == 0) continue;
    Group g;
    g.torch_group = t;
    g.first = index;
    g.last = index + count - 1;
    const at::Tensor& p = torch_groups[t].params().front();
    g.steps = kind_ == Kind::kAdam    ? adam_steps<AdamParamState>(optimizer_, p)
              : kind_ == Kind::kAdamW ? adam_steps<AdamWParamState>(optimizer_, p)
                                      : sgd_steps(optimizer_, p);
    groups_.push_back(g);
    index += count;
  }
  exp_avg_ = at::zeros_like(flat_.values());
  if (kind_ != Kind::kSgd) exp_avg_sq_ = at::zeros_like(flat_.values());
  if (kind_ == Kind::kAdam) {
    attach_adam_state<AdamParamState, AdamOptions>();
  } else if (kind_ == Kind::kAdamW) {
    attach_adam_state<AdamWParamState, AdamWOptions>();
  } else {
    attach_sgd_state();
  }
}

// Copies each parameter's existing moments into the flat buffers and points the optimizer's
// state at views of them, creating the states not there yet (as the optimizer's first step
// would: zero moments), so that a later plain step continues from here.
template <typename State, typename Options>
void FusedOptimizer::attach_adam_state() {
  at::NoGradGuard no_grad;
  auto& state = optimizer_.state();
  const auto& parameters = flat_.parameters();
  for (const Group& group : groups_) {
    const bool amsgrad =
        static_cast<Options&>(optimizer_.param_groups()[group.torch_group].options()).amsgrad();
    if (amsgrad && !max_exp_avg_sq_.defined()) max_exp_avg_sq_ = at::zeros_like(flat_.values());
    for (size_t i = group.first; i <= group.last; ++i) {
      const auto key = optimizer_state_key(state, parameters[i]);
      auto it = state.find(key);
      if (it == state.end()) it = state.emplace(key, std::make_unique<State>()).first;
      auto& s = static_cast<State&>(*it->second);
      const at::Tensor m = flat_.view_of(exp_avg_, i);
      const at::Tensor v = flat_.view_of(exp_avg_sq_, i);
      if (group.steps > 0) {
        m.copy_(s.exp_avg());
        v.copy_(s.exp_avg_sq());
      }
      s.step(group.steps);
      s.exp_avg(m);
      s.exp_avg_sq(v);
      if (amsgrad) {
        const at::Tensor vmax = flat_.view_of(max_exp_avg_sq_, i);
        if (group.steps > 0 && s.max_exp_avg_sq().defined()) vmax.copy_(s.max_exp_avg_sq());
        s.max_exp_avg_sq(vmax);
      }
    }
  }
}

// Momentum buffers that exist move into the flat buffer; the first step creates the others.
void FusedOptimizer::attach_sgd_state() {
  at::NoGradGuard no_grad;
  const auto& parameters = flat_.parameters();
  for (const Group& group : groups_) {
    if (group.steps == 0) continue;
    for (size_t i = group.first; i <= group.last; ++i) {
      auto& s = static_cast<SGDParamState&>(*find_state(optimizer_, parameters[i]));
      const at::Tensor buffer = flat_.view_of(exp_avg_, i);
      buffer.copy_(s.momentum_buffer());
      s.momentum_buffer(buffer);
    }
  }
}

bool FusedOptimizer::intact() const {
  if (!flat_.intact()) return false;
  const auto& parameters = flat_.parameters();
  for (const Group& group : groups_) {
    if (kind_ == Kind::kSgd && group.steps == 0) continue;
    for (size_t i = group.first; i <= group.last; ++i) {
      auto* state = find_state(optimizer_, parameters[i]);
      if (state == nullptr) return false;
      const void* expected = flat_.address_in(exp_avg_, i);
      const void* actual = nullptr;
      if (auto* adam = dynamic_cast<AdamParamState*>(state)) actual = adam->exp_avg().data_ptr();
      if (auto* adamw = dynamic_cast<AdamWParamState*>(state)) actual = adamw->exp_avg().data_ptr();
      if (auto* sgd = dynamic_cast<SGDParamState*>(state)) {
        actual = sgd->momentum_buffer().defined() ? sgd->momentum_buffer().data_ptr() : nullptr;
      }
      if (actual != expected) return false;
    }
  }
  return true;
}

void FusedOptimizer::scale_gradients(double factor) {
  flat_.gradients().mul_(factor);
}

void FusedOptimizer::step() {
  at::NoGradGuard no_grad;
  for (Group& group : groups_) {
    auto& options = optimizer_.param_groups()[group.torch_group].options();
    if (kind_ == Kind::kAdam) {
      const auto& o = static_cast<AdamOptions&>(options);
      adam_step<AdamParamState>(group, o.lr(), std::get<0>(o.betas()), std::get<1>(o.betas()),
                                o.eps(), o.weight_decay(), /*decoupled=*/false, o.amsgrad());
    } else if (kind_ == Kind::kAdamW) {
      const auto& o = static_cast<AdamWOptions&>(options);
      adam_step<AdamWParamState>(group, o.lr(), std::get<0>(o.betas()), std::get<1>(o.betas()),
                                 o.eps(), o.weight_decay(), /*decoupled=*/true, o.amsgrad());
    } else {
      sgd_step(group, static_cast<SGDOptions&>(options));
    }
  }
}

// torch::optim::Adam::step / AdamW::step on a group's ranges.
template <typename State>
void FusedOptimizer::adam_step(Group& group, double lr, double beta1, double beta2, double eps,
                               double weight_decay, bool decoupled, bool amsgrad) {
  group.steps += 1;
  const auto& parameters = flat_.parameters();
  for (size_t i = group.first; i <= group.last; ++i)
    static_cast<State*>(find_state(optimizer_, parameters[i]))->step(group.steps);

  at::Tensor p = flat_.range(flat_.values(), group.first, group.last);
  at::Tensor grad = flat_.range(flat_.gradients(), group.first, group.last);
  at::Tensor exp_avg = flat_.range(exp_avg_, group.first, group.last);
  at::Tensor exp_avg_sq = flat_.range(exp_avg_sq_, group.first, group.last);
  const auto steps = static_cast<double>(group.steps);
  const double bias_correction1 = 1 - std::pow(beta1, steps);
  const double bias_correction2 = 1 - std::pow(beta2, steps);
  if (weight_decay != 0) {
    if (decoupled) {
      p.mul_(1 - lr * weight_decay);
    } else {
      grad = grad.add(p, weight_decay);
    }
  }
  exp_avg.mul_(beta1).add_(grad, 1 - beta1);
  exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
  at::Tensor denom;
  if (amsgrad) {
    at::Tensor max_exp_avg_sq = flat_.range(max_exp_avg_sq_, group.first, group.last);
    at::maximum_out(max_exp_avg_sq, max_exp_avg_sq, exp_avg_sq);
    denom = (max_exp_avg_sq.sqrt() / std::sqrt(bias_correction2)).add_(eps);
  } else {
    denom = (exp_avg_sq.sqrt() / std::sqrt(bias_correction2)).add_(eps);
  }
  p.addcdiv_(exp_avg, denom, -lr / bias_correction1);
}

// torch::optim::SGD::step on a group's ranges.
void FusedOptimizer::sgd_step(Group& group, const torch::optim::SGDOptions& o) {
  at::Tensor p = flat_.range(flat_.values(), group.first, group.last);
  at::Tensor d_p = flat_.range(flat_.gradients(), group.first, group.last);
  if (o.weight_decay() != 0) d_p = d_p.add(p, o.weight_decay());
  if (o.momentum() != 0) {
    at::Tensor buffer = flat_.range(exp_avg_, group.first, group.last);
    if (group.steps == 0) {
      buffer.copy_(d_p);
      auto& state = optimizer_.state();
      const auto& parameters = flat_.parameters();
      for (size_t i = group.first; i <= group.last; ++i) {
        auto s = std::make_unique<SGDParamState>();
        s->momentum_buffer(flat_.view_of(exp_avg_, i));
        state[optimizer_state_key(state, parameters[i])] = std::move(s);
      }
      group.steps = 1;
    } else {
      buffer.mul_(o.momentum()).add_(d_p, 1 - o.dampening());
    }
    d_p = o.nesterov() ? d_p.add(buffer, o.momentum()) : buffer;
  }
  p.add_(d_p, -1 * o.lr());
}

}  // namespace ssmkit::train
