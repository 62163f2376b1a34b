// Channel attention across the channels of a multivariate series (squeeze-and-excitation style):
// each channel is summarised by average and max pooling over its patches and features, a shared
// bottleneck MLP across channels turns the summaries into one weight per channel, and the channel
// is scaled by sigmoid(weight). Lets the model emphasise channels using the others.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "ssmkit/nn/channel_mlp.h"

namespace ssmkit::nn {

struct ChannelAttentionOptions {
  int64_t num_channels = 1;  // C
  int64_t reduction = 2;
  ChannelPooling pooling;
  // GELU as in CMamba's ChannelAttention; ReLU is the squeeze-and-excitation original.
  Activation activation = Activation::kGelu;
};

class ChannelAttentionImpl : public torch::nn::Module {
 public:
  explicit ChannelAttentionImpl(const ChannelAttentionOptions& options);

  // x (B, C, P, D) -> (B, C, P, D): x * sigmoid(sum_pool mlp(pool(x))), one weight per (b, c).
  at::Tensor forward(const at::Tensor& x);
  // The weights alone: (B, C) in (0, 1).
  at::Tensor weights(const at::Tensor& x);

 private:
  ChannelAttentionOptions options_;
  ChannelMlp mlp_{nullptr};
};
TORCH_MODULE(ChannelAttention);

}  // namespace ssmkit::nn
