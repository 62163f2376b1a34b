// Exponential moving average of the parameters, swapped into the model in place.
#include "ssmkit/train/weight_average.h"

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <algorithm>

#include "ssmkit/io/error.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::train {
namespace {

// TensorFlow's ExponentialMovingAverage warm-up: decay (1 + n) / (10 + n) while that is smaller.
constexpr double kWarmupOffset = 10.0;

}  // namespace

WeightAverage::WeightAverage(std::vector<std::pair<std::string, at::Tensor>> parameters,
                             double decay)
    : decay_(decay) {
  if (!(decay > 0.0 && decay < 1.0)) {
    throw InputError("trainer.ema_decay: must be in (0, 1) to average the weights, got " +
                     std::to_string(decay));
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, parameter] : parameters) {
    TORCH_CHECK(parameter.defined(), "WeightAverage: parameter '", name, "' is undefined");
    TORCH_CHECK(parameter.is_floating_point(), "WeightAverage: parameter '", name,
                "' is not floating point");
    names_.push_back(name);
    parameters_.push_back(parameter);
    averages_.push_back(parameter.detach().clone());
  }
}

double WeightAverage::decay_of_update(int64_t update) const {
  const double n = static_cast<double>(update);
  return std::min(decay_, (1.0 + n) / (kWarmupOffset + n));
}

void WeightAverage::update() {
  TORCH_CHECK(!swapped_, "WeightAverage::update: the averages are swapped into the model");
  if (parameters_.empty()) return;
  torch::NoGradGuard no_grad;
  const double d = decay_of_update(updates_);
  // Two multi-tensor kernels on CUDA, whatever the parameter count.
  at::_foreach_mul_(averages_, d);
  at::_foreach_add_(averages_, parameters_, 1.0 - d);
  ++updates_;
}

void WeightAverage::swap() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const at::Tensor held = parameters_[i].detach().clone();
    parameters_[i].copy_(averages_[i]);
    averages_[i].copy_(held);
  }
  swapped_ = !swapped_;
}

std::vector<std::pair<std::string, at::Tensor>> WeightAverage::averages() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  const std::vector<at::Tensor>& source = swapped_ ? parameters_ : averages_;
  for (size_t i = 0; i < names_.size(); ++i)
    out.emplace_back(names_[i], source[i].detach().clone());
  return out;
}

void WeightAverage::load(const std::vector<std::pair<std::string, at::Tensor>>& averages,
                         int64_t updates) {
  TORCH_CHECK(!swapped_, "WeightAverage::load: the averages are swapped into the model");
  if (averages.size() != names_.size()) {
    throw InputError("weight average: " + std::to_string(averages.size()) +
                     " saved averages, the model has " + std::to_string(names_.size()) +
                     " parameters");
  }
  if (updates < 0) throw InputError("weight average: negative update count");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < names_.size(); ++i) {
    const auto& [name, saved] = averages[i];
    if (name != names_[i] || saved.sizes() != averages_[i].sizes()) {
      throw InputError("weight average: saved entry '" + name + "' " + shape_string(saved.sizes()) +
                       " does not match parameter '" + names_[i] + "' " +
                       shape_string(averages_[i].sizes()));
    }
    averages_[i].copy_(saved);
  }
  updates_ = updates;
}

void WeightAverage::reset_to_parameters() {
  TORCH_CHECK(!swapped_, "WeightAverage::reset_to_parameters: the averages are swapped in");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i)
    averages_[i].copy_(parameters_[i]);
  updates_ = 0;
}

AveragedWeightsScope::AveragedWeightsScope(WeightAverage* average)
    : average_(average != nullptr && !average->swapped() ? average : nullptr) {
  if (average_ != nullptr) average_->swap();
}

AveragedWeightsScope::~AveragedWeightsScope() {
  if (average_ != nullptr) average_->swap();
}

}  // namespace ssmkit::train
