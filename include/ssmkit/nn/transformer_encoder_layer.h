// The pre-norm transformer encoder layer (as torch.nn.TransformerEncoderLayer with
// norm_first=True, batch first):
//   x = x + dropout(SelfAttention(LayerNorm(x)))
//   x = x + dropout(W2 dropout(GELU(W1 LayerNorm(x))))
// Pre-norm keeps the residual path an identity, which trains stably without warm-up tricks.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

#include "ssmkit/nn/self_attention.h"

namespace ssmkit::nn {

struct TransformerEncoderLayerOptions {
  int64_t d_model = 0;  // D (required)
  int64_t num_heads = 1;
  int64_t intermediate_dim = 0;  // width of the feed-forward network (required)
  bool qkv_bias = false;
  double attention_dropout = 0.1;  // on the attention weights and the attention branch
  double ffn_dropout = 0.1;        // inside and after the feed-forward network
  double layer_norm_eps = 1e-5;
};

class TransformerEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit TransformerEncoderLayerImpl(const TransformerEncoderLayerOptions& options);

  at::Tensor forward(const at::Tensor& x);  // (B, L, D) -> (B, L, D)

  torch::nn::LayerNorm attention_norm{nullptr};
  SelfAttention attention{nullptr};
  torch::nn::LayerNorm ffn_norm{nullptr};
  torch::nn::Linear ffn_in{nullptr};   // D -> intermediate_dim
  torch::nn::Linear ffn_out{nullptr};  // intermediate_dim -> D

 private:
  TransformerEncoderLayerOptions options_;
};
TORCH_MODULE(TransformerEncoderLayer);

}  // namespace ssmkit::nn
