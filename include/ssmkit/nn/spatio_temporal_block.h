// A spatio-temporal block for multichannel token grids (B, C, P, D): a spatial branch (multi-head
// self-attention across the channels at each patch position) and a temporal branch (Mamba along the
// patches of each channel) run side by side on the normalised input and are fused by a learned
// per-feature gate:
//   h = RMSNorm(x),  s = Attention_C(h),  t = Mamba_P(h),  g = sigmoid(W [s; t] + b)
//   out = x + dropout(g * s + (1 - g) * t)
// so the model decides per token and feature how much to take from other channels versus its own
// history.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

#include "ssmkit/nn/mamba.h"
#include "ssmkit/nn/rms_norm.h"

namespace ssmkit::nn {

struct SpatioTemporalBlockOptions {
  MambaOptions mamba;   // temporal branch; mamba.d_model is the token width D
  int64_t n_heads = 4;  // of the spatial attention; must divide D
  double attention_dropout = 0.0;
  double dropout = 0.1;
  double norm_eps = kDefaultRmsNormEps;
};

class SpatioTemporalBlockImpl : public torch::nn::Module {
 public:
  explicit SpatioTemporalBlockImpl(const SpatioTemporalBlockOptions& options);

  // x (B, C, P, D) -> (B, C, P, D).
  at::Tensor forward(const at::Tensor& x);

  // The intermediate tensors of one forward, for inspection and tests.
  struct Parts {
    at::Tensor spatial;   // (B, C, P, D) attention across channels
    at::Tensor temporal;  // (B, C, P, D) Mamba along patches
    at::Tensor gate;      // (B, C, P, D) in (0, 1)
    at::Tensor output;    // (B, C, P, D)
  };
  Parts forward_parts(const at::Tensor& x);

  const SpatioTemporalBlockOptions& options() const { return options_; }

 private:
  SpatioTemporalBlockOptions options_;
  RMSNorm norm_{nullptr};
  torch::nn::MultiheadAttention attention_{nullptr};
  Mamba temporal_{nullptr};
  torch::nn::Linear gate_{nullptr};  // 2 D -> D
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(SpatioTemporalBlock);

}  // namespace ssmkit::nn
