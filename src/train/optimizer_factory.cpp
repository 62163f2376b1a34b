// Optimizer construction from configuration and learning-rate access.
#include "ssmkit/train/optimizer_factory.h"

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "optimizer_state_key.h"
#include "ssmkit/io/config.h"
#include "ssmkit/io/error.h"

namespace ssmkit::train {
namespace {

bool excluded_from_decay(const std::string& name, const std::vector<std::string>& suffixes) {
  for (const auto& suffix : suffixes) {
    if (name == suffix) return true;
    const std::string dotted = "." + suffix;
    if (name.size() > dotted.size() &&
        name.compare(name.size() - dotted.size(), dotted.size(), dotted) == 0) {
      return true;
    }
  }
  return false;
}

void require_optimizer(bool ok, const std::string& message) {
  if (!ok) throw InputError("optimizer." + message);
}

// The parameters of each group: decayed, not decayed, SSM.
struct ParameterSplit {
  std::vector<at::Tensor> decayed;
  std::vector<at::Tensor> plain;
  std::vector<at::Tensor> ssm;
  bool empty() const { return decayed.empty() && plain.empty() && ssm.empty(); }
};

// The parameters trained at lr * scale.
struct ScaledSplit {
  double scale = 1.0;
  ParameterSplit split;
};

// Whether parameter `name` is `prefix` or lies below it ("layers.1" holds "layers.1.weight", not
// "layers.10.weight").
bool under_prefix(const std::string& name, const std::string& prefix) {
  return name.compare(0, prefix.size(), prefix) == 0 &&
         (name.size() == prefix.size() || name[prefix.size()] == '.');
}

// The scale of the longest prefix of `scales` that `name` lies under; 1 under none.
double lr_scale_of(const std::string& name,
                   const std::vector<std::pair<std::string, double>>& scales) {
  double scale = 1.0;
  size_t longest = 0;
  for (const auto& [prefix, value] : scales) {
    if (prefix.size() > longest && under_prefix(name, prefix)) {
      scale = value;
      longest = prefix.size();
    }
  }
  return scale;
}

void check_lr_scales(const std::vector<std::pair<std::string, double>>& scales) {
  std::set<std::string> seen;
  for (const auto& [prefix, scale] : scales) {
    require_optimizer(!prefix.empty(), "lr_scales: a name prefix is empty");
    require_optimizer(std::isfinite(scale) && scale > 0, "lr_scales: the scale of '" + prefix +
                                                             "' must be > 0, got " +
                                                             nlohmann::json(scale).dump());
    require_optimizer(seen.insert(prefix).second, "lr_scales: '" + prefix + "' is given twice");
  }
}

// Appends the groups (decayed, not decayed, SSM) of `split` from `options`, each only when
// non-empty, at `scale` times the rates of the unscaled groups.
template <typename Options>
void add_param_groups(const ParameterSplit& split, const Options& options, double ssm_lr,
                      double scale, std::vector<torch::optim::OptimizerParamGroup>& groups) {
  Options decayed = options;
  decayed.lr(options.lr() * scale);
  if (!split.decayed.empty())
    groups.emplace_back(split.decayed, std::make_unique<Options>(decayed));
  Options no_decay = decayed;
  no_decay.weight_decay(0.0);
  if (!split.plain.empty()) groups.emplace_back(split.plain, std::make_unique<Options>(no_decay));
  if (!split.ssm.empty()) {
    Options ssm = no_decay;
    if (ssm_lr > 0) ssm.lr(std::min(ssm_lr, options.lr()) * scale);
    groups.emplace_back(split.ssm, std::make_unique<Options>(ssm));
  }
}

// The groups of every scale, the unscaled ones (splits.front()) first.
template <typename Options>
std::vector<torch::optim::OptimizerParamGroup> param_groups(const std::vector<ScaledSplit>& splits,
                                                            const Options& options, double ssm_lr) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (const ScaledSplit& s : splits)
    add_param_groups(s.split, options, ssm_lr, s.scale, groups);
  return groups;
}

template <typename StateMap>
const torch::optim::OptimizerParamState* find_state(const StateMap& state, const at::Tensor& p) {
  const auto it = state.find(optimizer_state_key(state, p));
  return it == state.end() ? nullptr : it->second.get();
}

template <typename AdamState>
void add_adam_state(const AdamState& s, const std::string& prefix,
                    std::vector<std::pair<std::string, at::Tensor>>& out) {
  out.emplace_back(prefix + "step", at::scalar_tensor(static_cast<int64_t>(s.step()), at::kLong));
  out.emplace_back(prefix + "exp_avg", s.exp_avg());
  out.emplace_back(prefix + "exp_avg_sq", s.exp_avg_sq());
  if (s.max_exp_avg_sq().defined()) out.emplace_back(prefix + "max_exp_avg_sq", s.max_exp_avg_sq());
}

}  // namespace

OptimizerConfig OptimizerConfig::from_json(const nlohmann::json& section) {
  OptimizerConfig c;
  io::ConfigSection s(section, "optimizer");
  c.name = s.choice("name", c.name, {"adam", "adamw", "sgd"});
  c.lr = s.number("lr", c.lr);
  c.weight_decay = s.number("weight_decay", c.weight_decay);
  const auto betas = s.numbers("betas", {c.beta1, c.beta2});
  require_optimizer(betas.size() == 2, "betas: expected two numbers [beta1, beta2]");
  c.beta1 = betas[0];
  c.beta2 = betas[1];
  c.eps = s.number("eps", c.eps);
  c.amsgrad = s.boolean("amsgrad", c.amsgrad);
  c.momentum = s.number("momentum", c.momentum);
  c.dampening = s.number("dampening", c.dampening);
  c.nesterov = s.boolean("nesterov", c.nesterov);
  c.no_weight_decay = s.strings("no_weight_decay", c.no_weight_decay);
  c.ssm_parameters = s.strings("ssm_parameters", c.ssm_parameters);
  c.ssm_lr = s.number("ssm_lr", c.ssm_lr);
  c.lr_scales = s.named_numbers("lr_scales", c.lr_scales);
  s.finish();

  require_optimizer(c.lr > 0, "lr: must be positive, got " + std::to_string(c.lr));
  require_optimizer(c.weight_decay >= 0, "weight_decay: must be >= 0");
  require_optimizer(c.ssm_lr >= 0, "ssm_lr: must be >= 0 (0: lr)");
  require_optimizer(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1,
                    "betas: each must be in [0, 1)");
  require_optimizer(c.eps >= 0, "eps: must be >= 0");
  require_optimizer(c.momentum >= 0 && c.momentum < 1, "momentum: must be in [0, 1)");
  require_optimizer(c.dampening >= 0 && c.dampening <= 1, "dampening: must be in [0, 1]");
  require_optimizer(!c.nesterov || (c.momentum > 0 && c.dampening == 0),
                    "nesterov: needs momentum > 0 and dampening 0");
  check_lr_scales(c.lr_scales);
  return c;
}

nlohmann::json OptimizerConfig::to_json() const {
  return {{"name", name},
          {"lr", lr},
          {"weight_decay", weight_decay},
          {"betas", {beta1, beta2}},
          {"eps", eps},
          {"amsgrad", amsgrad},
          {"momentum", momentum},
          {"dampening", dampening},
          {"nesterov", nesterov},
          {"no_weight_decay", no_weight_decay},
          {"ssm_parameters", ssm_parameters},
          {"ssm_lr", ssm_lr},
          {"lr_scales", lr_scales}};
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const OptimizerConfig& config, const torch::OrderedDict<std::string, at::Tensor>& parameters) {
  check_lr_scales(config.lr_scales);
  // A prefix that names no parameter (a renamed module) would leave its rate at the base silently.
  for (const auto& [prefix, scale] : config.lr_scales) {
    const bool found = std::any_of(parameters.begin(), parameters.end(), [&](const auto& item) {
      return under_prefix(item.key(), prefix);
    });
    require_optimizer(found,
                      "lr_scales: '" + prefix + "' names no parameter of the model" +
                          (parameters.is_empty() ? std::string()
                                                 : " (e.g. '" + parameters.begin()->key() + "')"));
  }
  std::vector<ScaledSplit> splits(1);  // scale 1 first: its first group holds the base rate
  bool trainable = false;
  for (const auto& item : parameters) {
    if (!item.value().requires_grad()) continue;
    trainable = true;
    const double scale = lr_scale_of(item.key(), config.lr_scales);
    auto it = std::find_if(splits.begin(), splits.end(),
                           [&](const ScaledSplit& s) { return s.scale == scale; });
    if (it == splits.end()) it = splits.insert(splits.end(), ScaledSplit{scale, {}});
    ParameterSplit& split = it->split;
    if (excluded_from_decay(item.key(), config.ssm_parameters)) {
      split.ssm.push_back(item.value());
    } else if (excluded_from_decay(item.key(), config.no_weight_decay)) {
      split.plain.push_back(item.value());
    } else {
      split.decayed.push_back(item.value());
    }
  }
  if (!trainable) {
    throw InputError("optimizer: the model has no parameters that require gradients");
  }
  require_optimizer(!splits.front().split.empty(),
                    "lr_scales: every parameter is scaled; leave at least one at the base rate");
  const auto betas = std::make_tuple(config.beta1, config.beta2);
  if (config.name == "adam") {
    torch::optim::AdamOptions o(config.lr);
    o.betas(betas).eps(config.eps).weight_decay(config.weight_decay).amsgrad(config.amsgrad);
    return std::make_unique<torch::optim::Adam>(param_groups(splits, o, config.ssm_lr), o);
  }
  if (config.name == "adamw") {
    torch::optim::AdamWOptions o(config.lr);
    o.betas(betas).eps(config.eps).weight_decay(config.weight_decay).amsgrad(config.amsgrad);
    return std::make_unique<torch::optim::AdamW>(param_groups(splits, o, config.ssm_lr), o);
  }
  if (config.name == "sgd") {
    torch::optim::SGDOptions o(config.lr);
    o.momentum(config.momentum)
        .dampening(config.dampening)
        .nesterov(config.nesterov)
        .weight_decay(config.weight_decay);
    return std::make_unique<torch::optim::SGD>(param_groups(splits, o, config.ssm_lr), o);
  }
  throw InputError("optimizer.name: unknown optimizer '" + config.name + "' (adam, adamw, sgd)");
}

double learning_rate(const torch::optim::Optimizer& optimizer) {
  TORCH_CHECK(!optimizer.param_groups().empty(), "learning_rate: optimizer has no groups");
  return optimizer.param_groups().front().options().get_lr();
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups())
    group.options().set_lr(lr);
}

void set_momentum(torch::optim::Optimizer& optimizer, double value) {
  for (auto& group : optimizer.param_groups()) {
    auto& options = group.options();
    if (auto* adam = dynamic_cast<torch::optim::AdamOptions*>(&options)) {
      adam->betas(std::make_tuple(value, std::get<1>(adam->betas())));
    } else if (auto* adamw = dynamic_cast<torch::optim::AdamWOptions*>(&options)) {
      adamw->betas(std::make_tuple(value, std::get<1>(adamw->betas())));
    } else if (auto* sgd = dynamic_cast<torch::optim::SGDOptions*>(&options)) {
      sgd->momentum(value);
    }
  }
}

double momentum(const torch::optim::Optimizer& optimizer) {
  TORCH_CHECK(!optimizer.param_groups().empty(), "momentum: optimizer has no groups");
  const auto& options = optimizer.param_groups().front().options();
  if (const auto* adam = dynamic_cast<const torch::optim::AdamOptions*>(&options)) {
    return std::get<0>(adam->betas());
  }
  if (const auto* adamw = dynamic_cast<const torch::optim::AdamWOptions*>(&options)) {
    return std::get<0>(adamw->betas());
  }
  if (const auto* sgd = dynamic_cast<const torch::optim::SGDOptions*>(&options))
    return sgd->momentum();
  return 0.0;
}

std::vector<std::pair<std::string, at::Tensor>> optimizer_state_tensors(
    const torch::optim::Optimizer& optimizer) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  const auto& groups = optimizer.param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& params = groups[g].params();
    for (size_t p = 0; p < params.size(); ++p) {
      const auto* state = find_state(optimizer.state(), params[p]);
      if (state == nullptr) continue;  // no step taken yet for this parameter
      const std::string prefix = "group" + std::to_string(g) + ".param" + std::to_string(p) + ".";
      if (const auto* adam = dynamic_cast<const torch::optim::AdamParamState*>(state)) {
        add_adam_state(*adam, prefix, out);
      } else if (const auto* adamw = dynamic_cast<const torch::optim::AdamWParamState*>(state)) {
        add_adam_state(*adamw, prefix, out);
      } else if (const auto* sgd = dynamic_cast<const torch::optim::SGDParamState*>(state)) {
        if (sgd->momentum_buffer().defined()) {
          out.emplace_back(prefix + "momentum_buffer", sgd->momentum_buffer());
        }
      } else {
        TORCH_CHECK(false, "optimizer_state_tensors: unsupported optimizer state type");
      }
    }
  }
  return out;
}

}  // namespace ssmkit::train
