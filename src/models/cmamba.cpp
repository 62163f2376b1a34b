// The CMamba forecasting model and its JSON config.
#include "ssmkit/models/cmamba.h"

#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/util/checks.h"
#include "ssmkit/util/json_fields.h"

namespace ssmkit::models {
namespace {

constexpr const char* kWhat = "CMamba config";

void require(bool ok, const char* key, const std::string& value, const char* requirement) {
  if (!ok) {
    throw InputError(
        std::string(kWhat) + ": '" + key + "' is " + value + ", expected " + requirement, key);
  }
}

void require_positive(const char* key, int64_t value) { require_positive_option(kWhat, key, value); }

void require_probability(const char* key, double value) {
  require_probability_option(kWhat, key, value);
}

nn::MambaOptions mamba_options(const CMambaOptions& o) {
  nn::MambaOptions m;
  m.d_model = o.d_model;
  m.d_state = o.d_state;
  m.d_conv = o.d_conv;
  m.expand = o.expand;
  m.dt_rank = o.dt_rank;
  m.bias = o.mamba_bias;
  m.variant = nn::parse_variant(o.mixer, "CMamba config: 'mixer'");
  return m;
}

nn::ChannelPooling pooling(const CMambaOptions& o) {
  return {o.pool_avg, o.pool_max};
}

}  // namespace

int64_t CMambaOptions::num_patches() const {
  return nn::patch_count(seq_len, patch_len, stride);
}

void CMambaOptions::validate() const {
  require_positive("seq_len", seq_len);
  require_positive("pred_len", pred_len);
  require_positive("enc_in", enc_in);
  require_positive("patch_len", patch_len);
  require_positive("stride", stride);
  require(seq_len + stride >= patch_len, "patch_len", std::to_string(patch_len),
          "at most seq_len + stride (one patch at least)");
  require_positive("d_model", d_model);
  require_positive("expand", expand);
  require_positive("n_layers", n_layers);
  require_positive("d_state", d_state);
  require_positive("d_conv", d_conv);
  require(dt_rank >= 0, "dt_rank", std::to_string(dt_rank), ">= 0 (0: ceil(d_model / 16))");
  require_probability("dropout", dropout);
  require_probability("head_dropout", head_dropout);
  require(sigma >= 0, "sigma", std::to_string(sigma), ">= 0");
  require_positive("reduction", reduction);
  require(pool_avg || pool_max, "pool_max", "false", "true when pool_avg is false");
  require(positional == "sinusoidal" || positional == "learned", "positional",
          "\"" + positional + "\"", "\"sinusoidal\" or \"learned\"");
  require(mixer == "mamba" || mixer == "m_mamba", "mixer", "\"" + mixer + "\"",
          "\"mamba\" or \"m_mamba\"");
  require(encoder == "cmamba" || encoder == "st", "encoder", "\"" + encoder + "\"",
          "\"cmamba\" or \"st\"");
  require(n_heads >= 1 && d_model % n_heads == 0, "n_heads", std::to_string(n_heads),
          "a divisor of d_model");
}

void to_json(nlohmann::json& j, const CMambaOptions& o) {
  j = nlohmann::json{{"seq_len", o.seq_len},
                     {"pred_len", o.pred_len},
                     {"enc_in", o.enc_in},
                     {"patch_len", o.patch_len},
                     {"stride", o.stride},
                     {"d_model", o.d_model},
                     {"expand", o.expand},
                     {"n_layers", o.n_layers},
                     {"d_state", o.d_state},
                     {"d_conv", o.d_conv},
                     {"dt_rank", o.dt_rank},
                     {"mamba_bias", o.mamba_bias},
                     {"dropout", o.dropout},
                     {"head_dropout", o.head_dropout},
                     {"channel_mixup", o.channel_mixup},
                     {"sigma", o.sigma},
                     {"use_gddmlp", o.use_gddmlp},
                     {"channel_attention", o.channel_attention},
                     {"reduction", o.reduction},
                     {"pool_avg", o.pool_avg},
                     {"pool_max", o.pool_max},
                     {"revin", o.revin},
                     {"revin_affine", o.revin_affine},
                     {"positional", o.positional},
                     {"encoder", o.encoder},
                     {"mixer", o.mixer},
                     {"n_heads", o.n_heads}};
}

void from_json(const nlohmann::json& j, CMambaOptions& o) {
  JsonFieldReader r(j, kWhat);
  r.read("seq_len", o.seq_len);
  r.read("pred_len", o.pred_len);
  r.read("enc_in", o.enc_in);
  r.read("patch_len", o.patch_len);
  r.read("stride", o.stride);
  r.read("d_model", o.d_model);
  r.read("expand", o.expand);
  r.read("n_layers", o.n_layers);
  r.read("d_state", o.d_state);
  r.read("d_conv", o.d_conv);
  r.read("dt_rank", o.dt_rank);
  r.read("mamba_bias", o.mamba_bias);
  r.read("dropout", o.dropout);
  r.read("head_dropout", o.head_dropout);
  r.read("channel_mixup", o.channel_mixup);
  r.read("sigma", o.sigma);
  r.read("use_gddmlp", o.use_gddmlp);
  r.read("channel_attention", o.channel_attention);
  r.read("reduction", o.reduction);
  r.read("pool_avg", o.pool_avg);
  r.read("pool_max", o.pool_max);
  r.read("revin", o.revin);
  r.read("revin_affine", o.revin_affine);
  r.read("positional", o.positional);
  r.read("encoder", o.encoder);
  r.read("mixer", o.mixer);
  r.read("n_heads", o.n_heads);
  r.finish();
  o.validate();
}

CMambaOptions cmamba_options_from_json(const nlohmann::json& j) {
  CMambaOptions o;
  from_json(j, o);
  return o;
}

CMambaImpl::CMambaImpl(const CMambaOptions& options) : options_(options) {
  options_.validate();
  const CMambaOptions& o = options_;
  if (o.revin) {
    revin_ = register_module("revin", nn::RevIN(nn::RevINOptions{o.enc_in, nn::RevINOptions{}.eps,
                                                                 o.revin_affine, false}));
  }
  nn::PatchEmbeddingOptions embed;
  embed.seq_len = o.seq_len;
  embed.patch_len = o.patch_len;
  embed.stride = o.stride;
  embed.d_model = o.d_model;
  embed.dropout = o.head_dropout;
  embed.positional = nn::positional_embedding_from_string(o.positional);
  embedding_ = register_module("embedding", nn::PatchEmbedding(embed));

  for (int64_t i = 0; i < o.n_layers; ++i) {
    const std::string name = "layer" + std::to_string(i);
    if (o.encoder == "cmamba") {
      nn::CMambaLayerOptions layer;
      layer.mamba = mamba_options(o);
      layer.num_channels = o.enc_in;
      layer.gdd_mlp = o.use_gddmlp;
      layer.channel_attention = o.channel_attention;
      layer.reduction = o.reduction;
      layer.pooling = pooling(o);
      layer.dropout = o.dropout;
      cmamba_layers_.push_back(register_module(name, nn::CMambaLayer(layer)));
    } else {
      nn::SpatioTemporalBlockOptions block;
      block.mamba = mamba_options(o);
      block.n_heads = o.n_heads;
      block.dropout = o.dropout;
      st_layers_.push_back(register_module(name, nn::SpatioTemporalBlock(block)));
    }
  }
  head_ = register_module("head", torch::nn::Linear(o.num_patches() * o.d_model, o.pred_len));
  head_dropout_ = register_module("head_dropout", torch::nn::Dropout(o.head_dropout));
  mixup_ = register_module("mixup", nn::ChannelMixup(o.sigma));
}

nlohmann::json CMambaImpl::config() const {
  return options_;
}

at::Tensor CMambaImpl::forward(const at::Tensor& x) {
  const CMambaOptions& o = options_;
  check_shape(x, "CMamba", "x", "(B, L, C)", {-1, o.seq_len, o.enc_in});
  check_same_device(x, head_->weight, "CMamba", "x", "the model's parameters");
  const int64_t batch = x.size(0);

  at::Tensor series = x;  // (B, L, C)
  nn::RevINStats stats;
  if (revin_) {
    auto normalized = revin_->normalize(x);
    series = normalized.values;
    stats = normalized.stats;
  }
  at::Tensor tokens = embedding_(series.transpose(1, 2));  // (B, C, P, D)
  for (auto& layer : cmamba_layers_)
    tokens = layer(tokens);
  for (auto& layer : st_layers_)
    tokens = layer(tokens);
  tokens = torch::silu(tokens);  // the official encoder ends with SiLU
  // Flattened patch-major (P, D); the official code flattens (D, P), a permutation of the head's
  // weight columns that saves a transpose.
  const at::Tensor flat = tokens.reshape({batch, o.enc_in, -1});     // (B, C, P*D)
  at::Tensor forecast = head_dropout_(head_(flat)).transpose(1, 2);  // (B, H, C)
  if (revin_) forecast = revin_->denormalize(forecast, stats);
  return forecast;
}

std::pair<at::Tensor, at::Tensor> CMambaImpl::augment_training_batch(const at::Tensor& inputs,
                                                                     const at::Tensor& targets) {
  check_shape(inputs, "CMamba::augment_training_batch", "inputs", "(B, L, C)",
              {-1, options_.seq_len, options_.enc_in});
  check_shape(targets, "CMamba::augment_training_batch", "targets", "(B, H, C)",
              {inputs.size(0), options_.pred_len, options_.enc_in});
  if (!options_.channel_mixup) return {inputs, targets};
  nn::MixedPair mixed = mixup_(inputs, targets);  // identity in eval mode
  return {mixed.inputs, mixed.targets};
}

void CMambaImpl::set_mixup_generator(at::Generator generator) {
  mixup_->set_generator(std::move(generator));
}

}  // namespace ssmkit::models
