// Multi-head self-attention over a sequence (B, L, D), batch first: one projection to queries,
// keys and values (bias optional, off in Ti-MAE), softmax(QK^T / sqrt(d_head)) V per head with
// dropout on the attention weights, and an output projection with bias. The attention itself is
// ops::multi_head_attention (ssmkit's CUDA kernels for small heads, LibTorch elsewhere).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace ssmkit::nn {

struct SelfAttentionOptions {
  int64_t d_model = 0;    // D (required)
  int64_t num_heads = 1;  // must divide D
  bool qkv_bias = false;
  double dropout = 0.0;  // on the attention weights, in training mode
};

class SelfAttentionImpl : public torch::nn::Module {
 public:
  explicit SelfAttentionImpl(const SelfAttentionOptions& options);

  at::Tensor forward(const at::Tensor& x);  // (B, L, D) -> (B, L, D)

  const SelfAttentionOptions& options() const { return options_; }

  torch::nn::Linear qkv{nullptr};  // D -> 3 D: queries, keys, values
  torch::nn::Linear out{nullptr};  // D -> D

 private:
  SelfAttentionOptions options_;
};
TORCH_MODULE(SelfAttention);

}  // namespace ssmkit::nn
