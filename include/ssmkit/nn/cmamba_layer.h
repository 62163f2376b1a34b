// One layer of the CMamba encoder. Tokens (B, C, P, D) are mixed along the patch axis by a Mamba
// block with the channels folded into the batch (every channel is its own sequence), then across
// channels by the GDD-MLP and/or channel attention, then dropout and the residual:
//   out = x + dropout(channel_mix(Mamba(RMSNorm(x))))
// as CMambaBlock in the official CMamba code (which has the GDD-MLP as its only channel mixer).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

#include "ssmkit/nn/channel_attention.h"
#include "ssmkit/nn/gdd_mlp.h"
#include "ssmkit/nn/mamba.h"
#include "ssmkit/nn/rms_norm.h"

namespace ssmkit::nn {

struct CMambaLayerOptions {
  MambaOptions mamba;        // mixer along the patches; mamba.d_model is the token width D
  int64_t num_channels = 1;  // C
  bool gdd_mlp = true;
  bool channel_attention = false;
  int64_t reduction = 2;  // of the channel MLPs
  ChannelPooling pooling;
  double dropout = 0.1;
  double norm_eps = kDefaultRmsNormEps;
};

class CMambaLayerImpl : public torch::nn::Module {
 public:
  explicit CMambaLayerImpl(const CMambaLayerOptions& options);

  // x (B, C, P, D) -> (B, C, P, D).
  at::Tensor forward(const at::Tensor& x);

  const CMambaLayerOptions& options() const { return options_; }

 private:
  CMambaLayerOptions options_;
  RMSNorm norm_{nullptr};
  Mamba mixer_{nullptr};
  ChannelAttention attention_{nullptr};  // only with options.channel_attention
  GddMlp gdd_mlp_{nullptr};              // only with options.gdd_mlp
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(CMambaLayer);

}  // namespace ssmkit::nn
