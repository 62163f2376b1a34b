// The channel bottleneck MLP and the pooled channel descriptors.
#include "ssmkit/nn/channel_mlp.h"

#include <torch/torch.h>

#include <algorithm>

#include "ssmkit/io/error.h"
#include "ssmkit/nn/activations.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::nn {

Activation activation_from_string(const std::string& name) {
  if (name == "relu") return Activation::kRelu;
  if (name == "gelu") return Activation::kGelu;
  throw InputError("activation '" + name + "' is unknown, expected relu or gelu");
}

std::string to_string(Activation activation) {
  return activation == Activation::kRelu ? "relu" : "gelu";
}

at::Tensor apply_activation(Activation activation, const at::Tensor& x) {
  return activation == Activation::kRelu ? torch::relu(x) : nn::gelu(x);
}

ChannelMlpImpl::ChannelMlpImpl(const ChannelMlpOptions& options) : options_(options) {
  TORCH_CHECK(options_.num_channels >= 1, "ChannelMlp: num_channels is ", options_.num_channels,
              ", expected >= 1");
  TORCH_CHECK(options_.reduction >= 1, "ChannelMlp: reduction is ", options_.reduction,
              ", expected >= 1");
  // C / reduction as in CMamba, but never an empty layer when there are fewer channels than that.
  hidden_ = std::max<int64_t>(1, options_.num_channels / options_.reduction);
  reduce_ = register_module(
      "reduce", torch::nn::Linear(
                    torch::nn::LinearOptions(options_.num_channels, hidden_).bias(options_.bias)));
  expand_ = register_module(
      "expand", torch::nn::Linear(
                    torch::nn::LinearOptions(hidden_, options_.num_channels).bias(options_.bias)));
}

at::Tensor ChannelMlpImpl::forward(const at::Tensor& d) {
  TORCH_CHECK(d.dim() >= 1 && d.size(-1) == options_.num_channels, "ChannelMlp: 'd' has shape ",
              shape_string(d.sizes()), ", expected (..., C) with C = ", options_.num_channels);
  return expand_(apply_activation(options_.activation, reduce_(d)));
}

at::Tensor pooled_descriptors(const at::Tensor& x, at::IntArrayRef dims,
                              const ChannelPooling& pooling) {
  TORCH_CHECK(pooling.average || pooling.maximum,
              "pooled_descriptors: enable average pooling, max pooling or both");
  TORCH_CHECK(!dims.empty() && dims.back() < x.dim() &&
                  dims.back() - dims.front() + 1 == static_cast<int64_t>(dims.size()),
              "pooled_descriptors: dims must be consecutive and ascending, got ", dims,
              " for a tensor of shape ", shape_string(x.sizes()));
  // The pooled dimensions as one: max over a single dimension keeps the argmax, so its backward
  // is one scatter, where amax's backward rebuilds a mask of the maxima in several passes over x.
  const at::Tensor flat = x.flatten(dims.front(), dims.back());
  std::vector<at::Tensor> pooled;
  if (pooling.average) pooled.push_back(flat.mean(dims.front()));
  if (pooling.maximum) pooled.push_back(std::get<0>(flat.max(dims.front())));
  return torch::stack(pooled, 0);
}

}  // namespace ssmkit::nn
