// Optimizers from configuration: Adam, AdamW and SGD (momentum, Nesterov) from LibTorch, with
// weight decay and parameters excluded from it, per-parameter rate scales (layer-wise decay), plus
// uniform access to the learning rate.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/optim/optimizer.h>
#include <torch/ordered_dict.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ssmkit::train {

struct OptimizerConfig {
  std::string name = "adamw";  // adam | adamw | sgd
  double lr = 1e-3;
  // adam and sgd add weight_decay * w to the gradient (L2); adamw decays weights directly.
  double weight_decay = 0.0;
  double beta1 = 0.9;  // adam, adamw ("betas": [beta1, beta2] in JSON)
  double beta2 = 0.999;
  double eps = 1e-8;
  bool amsgrad = false;
  double momentum = 0.0;  // sgd
  double dampening = 0.0;
  bool nesterov = false;
  // Parameters whose name is one of these or ends with "." + one of these get no weight decay,
  // e.g. {"bias", "A_log", "D"}.
  std::vector<std::string> no_weight_decay;
  // Parameters matched the same way (e.g. S4's {"log_dt", "log_A_real", "A_imag"}) form a group
  // of their own with no weight decay and the rate min(ssm_lr, lr) (ssm_lr 0: lr), as S4 trains
  // its SSM parameters. Schedules scale that group's rate in proportion (lr_scheduler.h).
  std::vector<std::string> ssm_parameters;
  double ssm_lr = 0.0;
  // Layer-wise rates ("lr_scales": [[name_prefix, scale], ...]), as BEiT and MAE fine-tune: a
  // parameter whose name is a prefix or starts with prefix + "." trains at lr * scale (the longest
  // matching prefix wins; none: scale 1). Scales are > 0, each prefix must name some parameter,
  // and at least one parameter keeps scale 1, because the first group's rate is the base rate
  // that learning_rate() reports and the schedules scale the other groups by their ratio to it.
  std::vector<std::pair<std::string, double>> lr_scales;

  // Reads the "optimizer" section; unknown keys and invalid values are InputErrors.
  static OptimizerConfig from_json(const nlohmann::json& section);
  nlohmann::json to_json() const;
};

// Builds the optimizer over the parameters that require gradients, in the order given (the
// order checkpoints rely on). Groups in this order, each only when non-empty: decayed, not decayed
// (no_weight_decay), SSM (ssm_parameters), first for the parameters at scale 1 (so that without
// lr_scales the groups are those of a config without the key), then the same three for each other
// scale, in the order of its first parameter, with lr * scale (SSM: min(ssm_lr, lr) * scale).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const OptimizerConfig& config, const torch::OrderedDict<std::string, at::Tensor>& parameters);

// Learning rate of the first parameter group (the others share it, or keep a fixed ratio to it).
double learning_rate(const torch::optim::Optimizer& optimizer);
// Sets the learning rate of every parameter group (all alike: the schedules keep the groups'
// ratios instead, lr_scheduler.h).
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);
// Sets the momentum of every group: beta1 of Adam and AdamW, momentum of SGD.
void set_momentum(torch::optim::Optimizer& optimizer, double momentum);
// The first group's momentum as set_momentum sets it.
double momentum(const torch::optim::Optimizer& optimizer);

// The per-parameter state of an Adam, AdamW or SGD optimizer in parameter order, named
// "group<g>.param<p>.<field>" (fields: step, exp_avg, exp_avg_sq, max_exp_avg_sq,
// momentum_buffer); for comparing optimizers, e.g. a resumed run against an uninterrupted one.
std::vector<std::pair<std::string, at::Tensor>> optimizer_state_tensors(
    const torch::optim::Optimizer& optimizer);

}  // namespace ssmkit::train
