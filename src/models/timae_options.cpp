// Ti-MAE settings: defaults, validation, JSON.
#include "ssmkit/models/timae_options.h"

#include "ssmkit/io/error.h"
#include "ssmkit/util/json_fields.h"

namespace ssmkit::models {
namespace {

constexpr const char* kTiMAEWhat = "TiMAE config";

}  // namespace

std::string TiMAEOptions::resolved_pooling() const {
  if (pooling.empty()) return cls_embed ? "cls" : "avg";
  if (pooling == "mean") return "avg";
  return pooling;
}

void TiMAEOptions::validate(bool classifier) const {
  require_positive_option(kTiMAEWhat, "input_dim", input_dim);
  require_positive_option(kTiMAEWhat, "emb_size", emb_size);
  require_positive_option(kTiMAEWhat, "num_heads", num_heads);
  require_positive_option(kTiMAEWhat, "num_layers", num_layers);
  require_positive_option(kTiMAEWhat, "decoder_emb_size", decoder_emb_size);
  require_positive_option(kTiMAEWhat, "num_decoder_heads", num_decoder_heads);
  require_positive_option(kTiMAEWhat, "num_decoder_layers", num_decoder_layers);
  require_positive_option(kTiMAEWhat, "chunk_size", chunk_size);
  if (mixer == TiMAEMixer::kTransformer) {
    require_positive_option(kTiMAEWhat, "intermediate_dim", intermediate_dim);
    require_positive_option(kTiMAEWhat, "decoder_intermediate_dim", decoder_intermediate_dim);
    if (emb_size % num_heads != 0) {
      invalid_option(kTiMAEWhat, "num_heads", "a divisor of emb_size " + std::to_string(emb_size),
                     std::to_string(num_heads));
    }
    if (decoder_emb_size % num_decoder_heads != 0) {
      invalid_option(kTiMAEWhat, "num_decoder_heads",
                     "a divisor of decoder_emb_size " + std::to_string(decoder_emb_size),
                     std::to_string(num_decoder_heads));
    }
  } else {
    require_positive_option(kTiMAEWhat, "ssm_state_size", ssm_state_size);
    require_positive_option(kTiMAEWhat, "decoder_ssm_state_size", decoder_ssm_state_size);
    require_positive_option(kTiMAEWhat, "expand_factor", expand_factor);
    require_positive_option(kTiMAEWhat, "decoder_expand_factor", decoder_expand_factor);
    require_positive_option(kTiMAEWhat, "conv_size", conv_size);
    require_positive_option(kTiMAEWhat, "decoder_conv_size", decoder_conv_size);
    if ((expand_factor * emb_size) % num_heads != 0) {
      invalid_option(
          kTiMAEWhat, "num_heads",
          "a divisor of expand_factor * emb_size " + std::to_string(expand_factor * emb_size),
          std::to_string(num_heads));
    }
    if ((decoder_expand_factor * decoder_emb_size) % num_decoder_heads != 0) {
      invalid_option(kTiMAEWhat, "num_decoder_heads",
                     "a divisor of decoder_expand_factor * decoder_emb_size " +
                         std::to_string(decoder_expand_factor * decoder_emb_size),
                     std::to_string(num_decoder_heads));
    }
  }
  if (max_len < 0)
    invalid_option(kTiMAEWhat, "max_len", ">= 0 (0: the input's length)", std::to_string(max_len));
  if (seq_len < 0)
    invalid_option(kTiMAEWhat, "seq_len", ">= 0 (0: any length)", std::to_string(seq_len));
  if (!(mask_ratio > 0.0 && mask_ratio < 1.0)) {
    invalid_option(kTiMAEWhat, "mask_ratio", "in (0, 1)", std::to_string(mask_ratio));
  }
  if (!(finetune_mask_ratio >= 0.0 && finetune_mask_ratio < 1.0)) {
    invalid_option(kTiMAEWhat, "finetune_mask_ratio", "in [0, 1)",
                   std::to_string(finetune_mask_ratio));
  }
  require_probability_option(kTiMAEWhat, "attn_dropout_prob", attn_dropout_prob);
  require_probability_option(kTiMAEWhat, "ffn_dropout_prob", ffn_dropout_prob);
  require_probability_option(kTiMAEWhat, "mixer_dropout_prob", mixer_dropout_prob);
  if (!(layer_norm_eps > 0.0))
    invalid_option(kTiMAEWhat, "layer_norm_eps", "> 0", std::to_string(layer_norm_eps));
  const std::string pool = resolved_pooling();
  if (pool != "cls" && pool != "avg" && pool != "max") {
    invalid_option(kTiMAEWhat, "pooling", "cls, avg (or mean) or max", "'" + pooling + "'");
  }
  if (pool == "cls" && !cls_embed) {
    invalid_option(kTiMAEWhat, "pooling", "avg or max when cls_embed is false",
                   "'" + pooling + "'");
  }
  if (classifier && num_classes < 2) {
    invalid_option(kTiMAEWhat, "num_classes", "at least 2", std::to_string(num_classes));
  }
}

TiMAEOptions timae_defaults(TiMAEMixer mixer) {
  TiMAEOptions o;
  o.mixer = mixer;
  if (mixer == TiMAEMixer::kMamba2) {
    o.num_heads = 8;
    o.num_decoder_heads = 8;
    o.num_layers = 1;
    o.num_decoder_layers = 1;
  }
  return o;
}

void to_json(nlohmann::json& j, const TiMAEOptions& o) {
  j = nlohmann::json{{"input_dim", o.input_dim},
                     {"emb_size", o.emb_size},
                     {"num_heads", o.num_heads},
                     {"num_layers", o.num_layers},
                     {"intermediate_dim", o.intermediate_dim},
                     {"decoder_emb_size", o.decoder_emb_size},
                     {"num_decoder_heads", o.num_decoder_heads},
                     {"num_decoder_layers", o.num_decoder_layers},
                     {"decoder_intermediate_dim", o.decoder_intermediate_dim},
                     {"ssm_state_size", o.ssm_state_size},
                     {"decoder_ssm_state_size", o.decoder_ssm_state_size},
                     {"expand_factor", o.expand_factor},
                     {"decoder_expand_factor", o.decoder_expand_factor},
                     {"conv_size", o.conv_size},
                     {"decoder_conv_size", o.decoder_conv_size},
                     {"chunk_size", o.chunk_size},
                     {"bias", o.bias},
                     {"conv_bias", o.conv_bias},
                     {"cls_embed", o.cls_embed},
                     {"max_len", o.max_len},
                     {"seq_len", o.seq_len},
                     {"mask_ratio", o.mask_ratio},
                     {"finetune_mask_ratio", o.finetune_mask_ratio},
                     {"pooling", o.pooling},
                     {"num_classes", o.num_classes},
                     {"qkv_bias", o.qkv_bias},
                     {"attn_dropout_prob", o.attn_dropout_prob},
                     {"ffn_dropout_prob", o.ffn_dropout_prob},
                     {"mixer_dropout_prob", o.mixer_dropout_prob},
                     {"layer_norm_eps", o.layer_norm_eps}};
}

TiMAEOptions timae_options_from_json(const nlohmann::json& j, TiMAEMixer mixer, bool classifier) {
  TiMAEOptions o = timae_defaults(mixer);
  JsonFieldReader r(j, kTiMAEWhat);
  r.read("input_dim", o.input_dim);
  r.read("emb_size", o.emb_size);
  r.read("num_heads", o.num_heads);
  r.read("num_layers", o.num_layers);
  r.read("intermediate_dim", o.intermediate_dim);
  r.read("decoder_emb_size", o.decoder_emb_size);
  r.read("num_decoder_heads", o.num_decoder_heads);
  r.read("num_decoder_layers", o.num_decoder_layers);
  r.read("decoder_intermediate_dim", o.decoder_intermediate_dim);
  r.read("ssm_state_size", o.ssm_state_size);
  r.read("decoder_ssm_state_size", o.decoder_ssm_state_size);
  r.read("expand_factor", o.expand_factor);
  r.read("decoder_expand_factor", o.decoder_expand_factor);
  r.read("conv_size", o.conv_size);
  r.read("decoder_conv_size", o.decoder_conv_size);
  r.read("chunk_size", o.chunk_size);
  r.read("bias", o.bias);
  r.read("conv_bias", o.conv_bias);
  r.read("cls_embed", o.cls_embed);
  r.read("max_len", o.max_len);
  r.read("seq_len", o.seq_len);
  r.read("mask_ratio", o.mask_ratio);
  r.read("finetune_mask_ratio", o.finetune_mask_ratio);
  r.read("pooling", o.pooling);
  r.read("num_classes", o.num_classes);
  r.read("qkv_bias", o.qkv_bias);
  r.read("attn_dropout_prob", o.attn_dropout_prob);
  r.read("ffn_dropout_prob", o.ffn_dropout_prob);
  r.read("mixer_dropout_prob", o.mixer_dropout_prob);
  r.read("layer_norm_eps", o.layer_norm_eps);
  r.finish();
  o.validate(classifier);
  return o;
}

}  // namespace ssmkit::models
