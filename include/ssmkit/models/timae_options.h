// The settings of the Ti-MAE models (Li et al. 2023, "Ti-MAE: Self-Supervised Masked Time Series
// Autoencoders"), named as the Lightning implementation's arguments so that its command lines and
// configs carry over: one struct for the four registered models (TiMAE, TiMAEForPretraining,
// TiMAEMamba, TiMAEMambaForPretraining), whose mixer (transformer or Mamba-2 layers) comes from the
// name. Keys a model does not use (a decoder's for a classifier) are accepted and ignored, so one
// config can pretrain and then fine-tune.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace ssmkit::models {

enum class TiMAEMixer { kTransformer, kMamba2 };

struct TiMAEOptions {
  TiMAEMixer mixer = TiMAEMixer::kTransformer;  // from the registry name, not from JSON

  int64_t input_dim = 1;  // channels C per time step
  int64_t emb_size = 64;  // token width of the encoder
  int64_t num_heads = 4;  // attention heads, or Mamba-2 heads (headdim = d_inner / num_heads)
  int64_t num_layers = 2;
  int64_t intermediate_dim = 256;  // feed-forward width (transformer)
  int64_t decoder_emb_size = 32;
  int64_t num_decoder_heads = 4;
  int64_t num_decoder_layers = 2;
  int64_t decoder_intermediate_dim = 128;
  int64_t ssm_state_size = 64;  // Mamba-2 state size N
  int64_t decoder_ssm_state_size = 64;
  int64_t expand_factor = 2;  // Mamba-2 d_inner = expand_factor * width
  int64_t decoder_expand_factor = 2;
  int64_t conv_size = 4;  // Mamba-2 causal conv taps
  int64_t decoder_conv_size = 4;
  int64_t chunk_size = 64;  // Mamba-2 scan chunk
  bool bias = false;        // Mamba-2 in_proj and out_proj biases
  bool conv_bias = true;    // Mamba-2 conv bias
  bool cls_embed = true;    // a learned CLS token (first for attention, last for a causal scan)
  // Steps the position table covers; a longer input interpolates it. 0: the input's own length.
  int64_t max_len = 0;
  // Expected input length; 0: any. Programs check their data against it.
  int64_t seq_len = 0;
  double mask_ratio = 0.75;  // fraction of steps removed in pretraining
  // Fraction of steps the classifier's encoder drops at random in training, as pretraining's
  // masking does (0: none; evaluation always sees every step).
  double finetune_mask_ratio = 0.0;
  // Classifier pooling over the encoder output: cls | avg | max ("mean" = avg). Empty: cls with a
  // CLS token, avg without.
  std::string pooling;
  int64_t num_classes = 0;  // classifier outputs (required for the classifiers)
  bool qkv_bias = false;
  double attn_dropout_prob = 0.1;
  double ffn_dropout_prob = 0.1;
  // Dropout on each Mamba-2 mixer's output before its residual add (TiMAEMamba; the transformer's
  // are the two above). 0 keeps the Lightning TiMAE-Mamba, which has none.
  double mixer_dropout_prob = 0.0;
  double layer_norm_eps = 1e-5;

  // The pooling actually used ("cls", "avg" or "max").
  std::string resolved_pooling() const;
  // Throws InputError naming the first invalid field; `classifier` also checks the head's fields.
  void validate(bool classifier) const;
};

// Defaults of a mixer: one Mamba-2 layer each side (the Lightning TiMAE-Mamba), else two
// transformer layers.
TiMAEOptions timae_defaults(TiMAEMixer mixer);

// JSON form (the keys above); strict: unknown keys and wrong types throw InputError naming the key.
void to_json(nlohmann::json& j, const TiMAEOptions& options);
// Reads `j` over timae_defaults(mixer) and validates.
TiMAEOptions timae_options_from_json(const nlohmann::json& j, TiMAEMixer mixer, bool classifier);

}  // namespace ssmkit::models
