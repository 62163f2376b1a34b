// S4Model, the S4 repository's example classifier (example.py): a linear encoder lifts each step's
// inputs to d_model channels, n_layers residual blocks of (S4D, channel dropout, residual add,
// LayerNorm before the S4D with prenorm or after the add without), mean pooling over time and a
// linear decoder. forward: sequence (B, L, d_input) -> (B, d_output), class logits or values.
// Images read as pixel sequences (one step per pixel) and tabular rows (one step per feature)
// both take this form.
#pragma once

#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "ssmkit/models/model.h"
#include "ssmkit/nn/s4d.h"

namespace ssmkit::models {

// Defaults are example.py's (d_model 128, 4 layers, dropout 0.1, post-norm) with the S4D's own
// (d_state 64, dt in [0.001, 0.1]).
struct S4ModelOptions {
  int64_t d_input = 1;    // features per step (1 for grayscale pixels and tabular rows, 3 for RGB)
  int64_t d_output = 10;  // classes, or 1 for regression
  int64_t d_model = 128;
  int64_t n_layers = 4;
  int64_t d_state = 64;
  double dropout = 0.1;
  bool prenorm = false;
  bool bidirectional = false;
  double dt_min = 0.001;
  double dt_max = 0.1;

  // Throws InputError naming the first invalid key.
  void validate() const;
  nn::S4DOptions s4d_options() const;
};

// Flat JSON object with the field names above; missing keys keep their defaults, unknown keys,
// wrong types and invalid values throw InputError naming the key.
void to_json(nlohmann::json& j, const S4ModelOptions& options);
void from_json(const nlohmann::json& j, S4ModelOptions& options);

class S4ModelImpl : public Model {
 public:
  explicit S4ModelImpl(const S4ModelOptions& options);

  std::string type_name() const override { return "S4Model"; }
  nlohmann::json config() const override { return options_; }

  // x (B, L, d_input) -> (B, d_output).
  at::Tensor forward(const at::Tensor& x) override;

  // Suffixes of the parameters S4 trains with their own rate and no weight decay (the S4D's
  // log_dt, log_A_real, A_imag), for OptimizerConfig::ssm_parameters.
  static std::vector<std::string> ssm_parameter_names();

  const S4ModelOptions& options() const { return options_; }

 private:
  // Layer `layer`'s LayerNorm (ops::layer_norm, with the module's weight and bias).
  at::Tensor norm(size_t layer, const at::Tensor& h);  // (B, L, D) -> (B, L, D)
  S4ModelOptions options_;
  torch::nn::Linear encoder_{nullptr};  // d_input -> d_model
  std::vector<nn::S4D> layers_;
  std::vector<torch::nn::LayerNorm> norms_;
  torch::nn::Linear decoder_{nullptr};  // d_model -> d_output
};
TORCH_MODULE(S4Model);

}  // namespace ssmkit::models
