// Ti-MAE's decoder: projects the encoder's tokens to the decoder width, puts a learned mask token
// at every removed step and the tokens back in time order (the CLS token first), adds its own
// sinusoidal positions, runs its layers (of the encoder's kind) and a LayerNorm, and projects every
// step back to input_dim. It reconstructs all L steps; the pretraining loss then looks at the
// removed ones.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "ssmkit/models/timae_encoder.h"
#include "ssmkit/models/timae_options.h"

namespace ssmkit::models {

class TiMAEDecoderImpl : public torch::nn::Module {
 public:
  explicit TiMAEDecoderImpl(const TiMAEOptions& options);

  // The encoder's output for masked inputs -> the reconstruction (B, L, input_dim).
  at::Tensor forward(const TiMAEEncoding& encoding);

  torch::nn::Linear embedding{nullptr};  // emb_size -> decoder_emb_size
  at::Tensor mask_token;                 // (decoder_emb_size)
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear projection{nullptr};  // decoder_emb_size -> input_dim

 private:
  TiMAEOptions options_;
  TiMAEPositionCache positions_;
};
TORCH_MODULE(TiMAEDecoder);

}  // namespace ssmkit::models
