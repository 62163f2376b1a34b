// The pre-norm residual Mamba-2 layer, x + Mamba2(LayerNorm(x)): Ti-MAE's Mamba encoder and decoder
// layers, normalised with LayerNorm as the rest of Ti-MAE is.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "ssmkit/nn/mamba2.h"

namespace ssmkit::nn {

class Mamba2LayerImpl : public torch::nn::Module {
 public:
  Mamba2LayerImpl(const Mamba2Options& options, double layer_norm_eps);

  at::Tensor forward(const at::Tensor& x);  // (B, L, d_model) -> (B, L, d_model)

  torch::nn::LayerNorm norm{nullptr};
  Mamba2 mixer{nullptr};
};
TORCH_MODULE(Mamba2Layer);

}  // namespace ssmkit::nn
