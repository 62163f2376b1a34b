// S4Model: options, construction and the residual S4D stack.
#include "ssmkit/models/s4_model.h"

#include <torch/torch.h>

#include <string>

#include "ssmkit/io/error.h"
#include "ssmkit/nn/layer_norm.h"
#include "ssmkit/ops/linear.h"
#include "ssmkit/util/checks.h"
#include "ssmkit/util/json_fields.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::models {
namespace {

constexpr const char* kS4ModelWhat = "S4Model config";

}  // namespace

void S4ModelOptions::validate() const {
  require_positive_option(kS4ModelWhat, "d_input", d_input);
  require_positive_option(kS4ModelWhat, "d_output", d_output);
  require_positive_option(kS4ModelWhat, "d_model", d_model);
  require_positive_option(kS4ModelWhat, "n_layers", n_layers);
  require_probability_option(kS4ModelWhat, "dropout", dropout);
  s4d_options().validate();
}

nn::S4DOptions S4ModelOptions::s4d_options() const {
  nn::S4DOptions o;
  o.d_model = d_model;
  o.d_state = d_state;
  o.dt_min = dt_min;
  o.dt_max = dt_max;
  o.dropout = dropout;  // example.py passes its dropout to every S4D
  o.bidirectional = bidirectional;
  return o;
}

void to_json(nlohmann::json& j, const S4ModelOptions& o) {
  j = nlohmann::json{{"d_input", o.d_input}, {"d_output", o.d_output},
                     {"d_model", o.d_model}, {"n_layers", o.n_layers},
                     {"d_state", o.d_state}, {"dropout", o.dropout},
                     {"prenorm", o.prenorm}, {"bidirectional", o.bidirectional},
                     {"dt_min", o.dt_min},   {"dt_max", o.dt_max}};
}

void from_json(const nlohmann::json& j, S4ModelOptions& o) {
  JsonFieldReader reader(j, kS4ModelWhat);
  reader.read("d_input", o.d_input);
  reader.read("d_output", o.d_output);
  reader.read("d_model", o.d_model);
  reader.read("n_layers", o.n_layers);
  reader.read("d_state", o.d_state);
  reader.read("dropout", o.dropout);
  reader.read("prenorm", o.prenorm);
  reader.read("bidirectional", o.bidirectional);
  reader.read("dt_min", o.dt_min);
  reader.read("dt_max", o.dt_max);
  reader.finish();
  o.validate();
}

S4ModelImpl::S4ModelImpl(const S4ModelOptions& options) : options_(options) {
  options_.validate();
  encoder_ = register_module("encoder", torch::nn::Linear(options_.d_input, options_.d_model));
  for (int64_t i = 0; i < options_.n_layers; ++i) {
    const std::string index = std::to_string(i);
    layers_.push_back(register_module("layer" + index, nn::S4D(options_.s4d_options())));
    norms_.push_back(register_module(
        "norm" + index, torch::nn::LayerNorm(torch::nn::LayerNormOptions({options_.d_model}))));
  }
  decoder_ = register_module("decoder", torch::nn::Linear(options_.d_model, options_.d_output));
}

std::vector<std::string> S4ModelImpl::ssm_parameter_names() {
  return {"log_dt", "log_A_real", "A_imag"};
}

at::Tensor S4ModelImpl::norm(size_t layer, const at::Tensor& h) {
  return nn::layer_norm(norms_[layer], h);
}

at::Tensor S4ModelImpl::forward(const at::Tensor& x) {
  constexpr const char* fn = "S4Model";
  check_shape(x, fn, "x", "(B, L, d_input)", {-1, -1, options_.d_input});
  at::Tensor h = ops::linear(x, encoder_->weight, encoder_->bias);  // (B, L, D)
  for (size_t i = 0; i < layers_.size(); ++i) {
    const at::Tensor z = options_.prenorm ? norm(i, h) : h;  // (B, L, D)
    // h + channel_dropout(S4D(z)), the dropout and the add inside the layer's last kernel.
    h = layers_[i](z, nn::S4DResidual{h, options_.dropout});  // (B, L, D)
    if (!options_.prenorm) h = norm(i, h);
  }
  at::Tensor y = decoder_(h.mean(1));  // (B, d_output)
  trace_shapes(fn, x, y);
  return y;
}

}  // namespace ssmkit::models
