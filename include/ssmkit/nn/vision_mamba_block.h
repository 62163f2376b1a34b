// The hybrid block of Vision Mamba (Zhu et al. 2024, "Vision Mamba: Efficient Visual
// Representation Learning with Bidirectional State Space Model"), with an attention branch beside
// the SSM as in hybrid Mamba/attention vision models:
//   h   = LayerNorm(x)                                                          (B, L, D)
//   ssm = Mamba_fwd(h), or with `bidirectional` (Mamba_fwd(h) + flip(Mamba_bwd(flip(h)))) / 2
//   att = SelfAttention(h)
//   g   = sigmoid(gate)             one learned scalar per block, 0.5 at init (an even mix)
//   x   = x + DropPath(Dropout(g * ssm + (1 - g) * att))
//   x   = x + DropPath(MLP(LayerNorm(x)))        MLP: D -> mlp_ratio * D -> GELU -> D, dropout
// The backward scan has its own Mamba weights, as Vim's "bimamba" does, so the block can learn
// what each direction carries; patches have no causal order, so both directions see every token.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

#include "ssmkit/nn/mamba.h"
#include "ssmkit/nn/self_attention.h"

namespace ssmkit::nn {

struct VisionMambaBlockOptions {
  MambaOptions mamba;  // d_model is the block's width D
  bool bidirectional = true;
  int64_t num_heads = 1;   // of the attention branch; must divide D
  double mlp_ratio = 4.0;  // MLP hidden width = round(mlp_ratio * D)
  double dropout = 0.0;    // after each branch and inside the MLP
  double attention_dropout = 0.0;
  double drop_path = 0.0;  // probability of skipping a residual branch per example (training)
  double layer_norm_eps = 1e-6;
};

// Residual branch dropped per example with probability p (stochastic depth, Huang et al. 2016),
// the kept ones scaled by 1 / (1 - p); identity outside training. The per-example keep mask
// comes from LibTorch's default generator, so seeding and checkpointed generator states decide it.
at::Tensor drop_path(const at::Tensor& branch,  // (B, ...)
                     double p, bool training);  // -> (B, ...)

class VisionMambaBlockImpl : public torch::nn::Module {
 public:
  explicit VisionMambaBlockImpl(const VisionMambaBlockOptions& options);

  at::Tensor forward(const at::Tensor& x);  // (B, L, D) -> (B, L, D)

  // The SSM branch on normalised tokens: the forward scan, averaged with the flipped scan of the
  // flipped tokens when bidirectional.
  at::Tensor ssm_branch(const at::Tensor& h);  // (B, L, D) -> (B, L, D)
  // sigmoid(gate): the SSM branch's share of the mix.
  at::Tensor mix_weight() const;  // ()

  const VisionMambaBlockOptions& options() const { return options_; }

  torch::nn::LayerNorm mixer_norm{nullptr};
  Mamba forward_mamba{nullptr};
  Mamba backward_mamba{nullptr};  // null unless bidirectional
  SelfAttention attention{nullptr};
  at::Tensor gate;  // () logit of the SSM branch's share
  torch::nn::LayerNorm mlp_norm{nullptr};
  torch::nn::Linear mlp_in{nullptr};   // D -> hidden
  torch::nn::Linear mlp_out{nullptr};  // hidden -> D

 private:
  VisionMambaBlockOptions options_;
};
TORCH_MODULE(VisionMambaBlock);

}  // namespace ssmkit::nn
