// Channel attention.
#include "ssmkit/nn/channel_attention.h"

#include <torch/torch.h>

#include "ssmkit/util/checks.h"

namespace ssmkit::nn {

ChannelAttentionImpl::ChannelAttentionImpl(const ChannelAttentionOptions& options)
    : options_(options) {
  TORCH_CHECK(options_.pooling.average || options_.pooling.maximum,
              "ChannelAttention: enable average pooling, max pooling or both");
  ChannelMlpOptions mlp;
  mlp.num_channels = options_.num_channels;
  mlp.reduction = options_.reduction;
  mlp.bias = true;
  mlp.activation = options_.activation;
  mlp_ = register_module("mlp", ChannelMlp(mlp));
}

at::Tensor ChannelAttentionImpl::weights(const at::Tensor& x) {
  check_shape(x, "ChannelAttention", "x", "(B, C, P, D)", {-1, options_.num_channels, -1, -1});
  const at::Tensor descriptors = pooled_descriptors(x, {2, 3}, options_.pooling);  // (K, B, C)
  return torch::sigmoid(mlp_(descriptors).sum(0));                                 // (B, C)
}

at::Tensor ChannelAttentionImpl::forward(const at::Tensor& x) {
  return x * weights(x).unsqueeze(-1).unsqueeze(-1);  // (B, C, P, D)
}

}  // namespace ssmkit::nn
