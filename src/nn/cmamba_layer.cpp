// The CMamba encoder layer.
#include "ssmkit/nn/cmamba_layer.h"

#include <torch/torch.h>

#include "ssmkit/util/checks.h"

namespace ssmkit::nn {

CMambaLayerImpl::CMambaLayerImpl(const CMambaLayerOptions& options) : options_(options) {
  options_.mamba.validate();
  TORCH_CHECK(options_.num_channels >= 1, "CMambaLayer: num_channels is ", options_.num_channels,
              ", expected >= 1");
  TORCH_CHECK(options_.dropout >= 0 && options_.dropout < 1, "CMambaLayer: dropout is ",
              options_.dropout, ", expected in [0, 1)");
  norm_ = register_module("norm", RMSNorm(options_.mamba.d_model, options_.norm_eps));
  mixer_ = register_module("mixer", Mamba(options_.mamba));
  if (options_.channel_attention) {
    ChannelAttentionOptions a;
    a.num_channels = options_.num_channels;
    a.reduction = options_.reduction;
    a.pooling = options_.pooling;
    attention_ = register_module("channel_attention", ChannelAttention(a));
  }
  if (options_.gdd_mlp) {
    gdd_mlp_ = register_module(
        "gdd_mlp",
        GddMlp(GddMlpOptions{options_.num_channels, options_.reduction, options_.pooling}));
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(options_.dropout));
}

at::Tensor CMambaLayerImpl::forward(const at::Tensor& x) {
  const int64_t d_model = options_.mamba.d_model;
  check_shape(x, "CMambaLayer", "x", "(B, C, P, D)", {-1, options_.num_channels, -1, d_model});
  const int64_t batch = x.size(0), channels = x.size(1), patches = x.size(2);
  // Channels folded into the batch: one Mamba call for all B * C sequences.
  at::Tensor h = mixer_(norm_(x.reshape({batch * channels, patches, d_model})));  // (B*C, P, D)
  h = h.view({batch, channels, patches, d_model});                                // (B, C, P, D)
  if (attention_) h = attention_(h);
  if (gdd_mlp_) h = gdd_mlp_(h);
  return x + dropout_(h);  // (B, C, P, D)
}

}  // namespace ssmkit::nn
