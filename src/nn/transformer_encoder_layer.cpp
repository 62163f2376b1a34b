// The pre-norm transformer encoder layer.
#include "ssmkit/nn/transformer_encoder_layer.h"

#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/nn/layer_norm.h"
#include "ssmkit/ops/dropout.h"
#include "ssmkit/ops/linear.h"
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
      "attention",
      SelfAttention(SelfAttentionOptions{o.d_model, o.num_heads, o.qkv_bias, o.attention_dropout}));
  ffn_norm = register_module("ffn_norm", torch::nn::LayerNorm(norm));
  ffn_in = register_module("ffn_in", torch::nn::Linear(o.d_model, o.intermediate_dim));
  ffn_out = register_module("ffn_out", torch::nn::Linear(o.intermediate_dim, o.d_model));
}

at::Tensor TransformerEncoderLayerImpl::forward(const at::Tensor& x) {
  const bool training = is_training();
  at::Tensor h = x + ops::dropout(attention(layer_norm(attention_norm, x)),
                                  options_.attention_dropout, training);
  const at::Tensor inner = ops::dropout(torch::gelu(ops::linear(layer_norm(ffn_norm, h), ffn_in)),
                                        options_.ffn_dropout, training);
  h = h + ops::dropout(ops::linear(inner, ffn_out), options_.ffn_dropout, training);
  trace_shapes("TransformerEncoderLayer", x, h);
  return h;
}

}  // namespace ssmkit::nn
