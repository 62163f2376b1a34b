// The global data-dependent MLP of CMamba.
#include "ssmkit/nn/gdd_mlp.h"

#include <torch/torch.h>

#include "ssmkit/util/checks.h"

namespace ssmkit::nn {

GddMlpImpl::GddMlpImpl(const GddMlpOptions& options) : options_(options) {
  TORCH_CHECK(options_.pooling.average || options_.pooling.maximum,
              "GddMlp: enable average pooling, max pooling or both");
  ChannelMlpOptions mlp;
  mlp.num_channels = options_.num_channels;
  mlp.reduction = options_.reduction;
  mlp.bias = false;
  mlp.activation = Activation::kGelu;
  scale_mlp_ = register_module("scale_mlp", ChannelMlp(mlp));
  shift_mlp_ = register_module("shift_mlp", ChannelMlp(mlp));
}

at::Tensor GddMlpImpl::forward(const at::Tensor& x) {
  check_shape(x, "GddMlp", "x", "(B, C, P, D)", {-1, options_.num_channels, -1, -1});
  // Channels last so the MLPs mix across channels at each patch position.
  const at::Tensor descriptors =
      pooled_descriptors(x, {3}, options_.pooling).transpose(2, 3);  // (K, B, P, C)
  const at::Tensor scale =
      scale_mlp_(descriptors).sum(0).transpose(1, 2).unsqueeze(-1);  // (B, C, P, 1)
  const at::Tensor shift =
      shift_mlp_(descriptors).sum(0).transpose(1, 2).unsqueeze(-1);  // (B, C, P, 1)
  // sigmoid(scale) * x + sigmoid(shift) in one pass.
  return torch::addcmul(torch::sigmoid(shift), x, torch::sigmoid(scale));  // (B, C, P, D)
}

}  // namespace ssmkit::nn
