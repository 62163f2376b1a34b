// The interface every whole model implements, so programs, the registry and the training core can
// handle any model alike: one tensor in, one tensor out, and a JSON config that rebuilds it.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <nlohmann/json.hpp>

#include <string>
#include <utility>

namespace ssmkit::models {

class Model : public torch::nn::Module {
 public:
  // The name the registry knows this model by, e.g. "CMamba".
  virtual std::string type_name() const = 0;
  // The complete config: create_model(type_name(), config()) builds the same architecture.
  virtual nlohmann::json config() const = 0;
  // The model's computation, inputs (B, ...) -> outputs (B, ...); each model documents its shapes.
  virtual at::Tensor forward(const at::Tensor& inputs) = 0;
  // Training-time augmentation of a batch, inputs (B, ...) and targets (B, ...), before forward,
  // e.g. channel mixup. Identity unless a model overrides it.
  virtual std::pair<at::Tensor, at::Tensor> augment_training_batch(const at::Tensor& inputs,
                                                                   const at::Tensor& targets) {
    return {inputs, targets};
  }
};

}  // namespace ssmkit::models
