// CMamba (Zeng et al. 2024, "CMamba: Channel Correlation Enhanced State Space Models for
// Multivariate Time Series Forecasting"): patch tokens of every channel go through Mamba layers
// along time, with cross-channel mixing (GDD-MLP) inside every layer and channel mixup during
// training. forward: lookback (B, L, C) -> forecast (B, H, C).
//
// Pipeline, as the official code:
//   RevIN normalise over time per (b, c)            (B, L, C)
//   patching + linear embedding + positions          (B, C, P, D), channels independent
//   n_layers x CMambaLayer (or SpatioTemporalBlock)  (B, C, P, D), channels folded into the batch
//                                                    for Mamba, mixed by GDD-MLP between
//   SiLU, flatten head P*D -> H per channel          (B, C, H)
//   RevIN denormalise                                (B, H, C)
// The official "M-Mamba" mixer drops Mamba's causal conv and makes D input-dependent; here the
// mixer is ssmkit's standard Mamba block (nn/mamba.h) with its causal conv (d_conv) and learned D;
// d_inner = expand * d_model plays the role of the official d_ff.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "ssmkit/models/model.h"
#include "ssmkit/nn/channel_mixup.h"
#include "ssmkit/nn/cmamba_layer.h"
#include "ssmkit/nn/patch_embedding.h"
#include "ssmkit/nn/revin.h"
#include "ssmkit/nn/spatio_temporal_block.h"

namespace ssmkit::models {

// Defaults are the ETTh1 anchor configuration (lookback 96, horizon 96, 7 channels).
struct CMambaOptions {
  int64_t seq_len = 96;   // L, lookback
  int64_t pred_len = 96;  // H, horizon
  int64_t enc_in = 7;     // C, channels
  int64_t patch_len = 16;
  int64_t stride = 8;
  int64_t d_model = 128;  // token width D
  int64_t expand = 1;     // Mamba d_inner = expand * d_model (official d_ff = 128 = 1 x 128)
  int64_t n_layers = 3;
  int64_t d_state = 16;
  int64_t d_conv = 4;
  int64_t dt_rank = 32;            // 0 = ceil(d_model / 16); the official code uses 32
  bool mamba_bias = true;          // biases of the Mamba in/out projections (official: on)
  double dropout = 0.1;            // inside every layer
  double head_dropout = 0.1;       // after the patch embedding and after the head
  bool channel_mixup = true;       // training-time augmentation, see augment_training_batch
  double sigma = 1.0;              // std of the mixup coefficients
  bool use_gddmlp = true;          // GDD-MLP across channels in every layer
  bool channel_attention = false;  // channel attention in every layer (not in the official model)
  int64_t reduction = 2;           // of the channel MLPs
  bool pool_avg = true;            // descriptors of the channel MLPs: average pooling
  bool pool_max = true;            //   and max pooling
  bool revin = true;
  bool revin_affine = false;
  std::string positional = "sinusoidal";  // "sinusoidal" (official) | "learned" (PatchTST)
  std::string encoder = "cmamba";         // "cmamba" | "st" (nn/spatio_temporal_block.h)
  // The Mamba of every layer: "mamba" (causal conv, learned D) or "m_mamba" (the official
  // CMamba mixer: no conv, per-token D, shared A; see nn/mamba.h).
  std::string mixer = "mamba";
  int64_t n_heads = 4;  // of the spatial attention, encoder "st" only

  int64_t num_patches() const;
  // Throws InputError naming the first invalid key.
  void validate() const;
};

// Flat JSON object with the field names above as keys. Missing keys keep their defaults; unknown
// keys, wrong types and invalid values throw InputError naming the key.
void to_json(nlohmann::json& j, const CMambaOptions& options);
void from_json(const nlohmann::json& j, CMambaOptions& options);
CMambaOptions cmamba_options_from_json(const nlohmann::json& j);

class CMambaImpl : public Model {
 public:
  explicit CMambaImpl(const CMambaOptions& options);

  std::string type_name() const override { return "CMamba"; }
  nlohmann::json config() const override;

  // x (B, L, C) -> forecast (B, H, C), in the units of x.
  at::Tensor forward(const at::Tensor& x) override;

  // Channel mixup of a training batch, inputs (B, L, C) and targets (B, H, C), mixed alike; the
  // pair unchanged when channel_mixup is off or the model is in eval mode.
  std::pair<at::Tensor, at::Tensor> augment_training_batch(const at::Tensor& inputs,
                                                           const at::Tensor& targets) override;
  // Makes the mixup draws reproducible.
  void set_mixup_generator(at::Generator generator);

  const CMambaOptions& options() const { return options_; }

 private:
  CMambaOptions options_;
  nn::RevIN revin_{nullptr};  // only with options.revin
  nn::PatchEmbedding embedding_{nullptr};
  std::vector<nn::CMambaLayer> cmamba_layers_;      // encoder "cmamba"
  std::vector<nn::SpatioTemporalBlock> st_layers_;  // encoder "st"
  torch::nn::Linear head_{nullptr};                 // P * D -> H, shared by the channels
  torch::nn::Dropout head_dropout_{nullptr};
  nn::ChannelMixup mixup_{nullptr};
};
TORCH_MODULE(CMamba);

}  // namespace ssmkit::models
