// The pre-norm transformer encoder layer.
#include "ssmkit/nn/transformer_encoder_layer.h"

#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::nn {

TransformerEncoderLayerImpl::TransformerEncoderLayerImpl(
    const TransformerEncoderLayerOptions& options)
    : options_(options) {
  const auto& o = options_;
  if (o.intermediate_dim < 1) {
    throw InputError("TransformerEncoderLayer: intermediate_dim must be positive, got " +
                     std::to_string(o.intermediate_dim));
  }
  if (!(o.ffn_dropout >= 0.0 && o.ffn_dropout < 1.0)) {
    throw InputError("TransformerEncoderLayer: ffn_dropout must be in [0, 1)");
  }
  const auto norm = torch::nn::LayerNormOptions({o.d_model}).eps(o.layer_norm_eps);
  attention_norm = register_module("attention_norm", torch::nn::LayerNorm(norm));
  attention = register_module(
      "attention", SelfAttention(SelfAttentionOptions{o.d_model, o.num_heads, o.qkv_bias,
                                                      o.attention_dropout}));
  ffn_norm = register_module("ffn_norm", torch::nn::LayerNorm(norm));
  ffn_in = register_module("ffn_in", torch::nn::Linear(o.d_model, o.intermediate_dim));
  ffn_out = register_module("ffn_out", torch::nn::Linear(o.intermediate_dim, o.d_model));
  attention_dropout_ = register_module("attention_dropout", torch::nn::Dropout(o.attention_dropout));
  ffn_dropout_ = register_module("ffn_dropout", torch::nn::Dropout(o.ffn_dropout));
}

at::Tensor TransformerEncoderLayerImpl::forward(const at::Tensor& x) {
  at::Tensor h = x + attention_dropout_(attention(attention_norm(x)));
  const at::Tensor inner = ffn_dropout_(torch::gelu(ffn_in(ffn_norm(h))));
  h = h + ffn_dropout_(ffn_out(inner));
  trace_shapes("TransformerEncoderLayer", x, h);
  return h;
}

}  // namespace ssmkit::nn
