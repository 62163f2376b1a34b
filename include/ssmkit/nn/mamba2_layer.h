// The pre-norm residual Mamba-2 layer, x + Dropout(Mamba2(LayerNorm(x))): Ti-MAE's Mamba encoder
// and decoder layers, normalised with LayerNorm as the rest of Ti-MAE is. The dropout (0: none) is
// the layer's only one, as the transformer layer's attention and feed-forward dropouts are its.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "ssmkit/nn/mamba2.h"

namespace ssmkit::nn {

class Mamba2LayerImpl : public torch::nn::Module {
 public:
  Mamba2LayerImpl(const Mamba2Options& options, double layer_norm_eps, double dropout = 0.0);

  at::Tensor forward(const at::Tensor& x);  // (B, L, d_model) -> (B, L, d_model)

  torch::nn::LayerNorm norm{nullptr};
  Mamba2 mixer{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(Mamba2Layer);

}  // namespace ssmkit::nn
