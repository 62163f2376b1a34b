// The Vision Mamba image classifier and its JSON config.
#include "ssmkit/models/vision_mamba.h"

#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/nn/layer_norm.h"
#include "ssmkit/ops/dropout.h"
#include "ssmkit/util/checks.h"
#include "ssmkit/util/json_fields.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::models {
namespace {

constexpr const char* kVisionMambaWhat = "VisionMamba config";
// Truncated-normal std of the class token and positions, as ViT and Vim initialise them.
constexpr double kEmbeddingInitStd = 0.02;

const VisionMambaSize* find_preset(const std::string& name) {
  for (const VisionMambaSize& preset : kVisionMambaPresets) {
    if (name == preset.name) return &preset;
  }
  return nullptr;
}

std::string preset_names() {
  std::string names;
  for (const VisionMambaSize& preset : kVisionMambaPresets)
    names += std::string(names.empty() ? "" : ", ") + preset.name;
  return names;
}

// Normal(0, 0.02) clipped at two deviations: timm's trunc_normal_, which LibTorch 1.13 lacks.
at::Tensor embedding_init(at::IntArrayRef shape) {
  return torch::randn(shape)
      .mul_(kEmbeddingInitStd)
      .clamp_(-2 * kEmbeddingInitStd, 2 * kEmbeddingInitStd);
}

void fill(int64_t& field, int64_t preset_value) {
  if (field == 0) field = preset_value;
}

}  // namespace

VisionMambaOptions VisionMambaOptions::resolved() const {
  const VisionMambaSize* preset = find_preset(size);
  if (preset == nullptr) {
    invalid_option(kVisionMambaWhat, "size", "one of " + preset_names(), "\"" + size + "\"");
  }
  VisionMambaOptions o = *this;
  fill(o.embed_dim, preset->embed_dim);
  fill(o.depth, preset->depth);
  fill(o.num_heads, preset->num_heads);
  fill(o.d_state, preset->d_state);
  fill(o.d_conv, preset->d_conv);
  return o;
}

void VisionMambaOptions::validate() const {
  const VisionMambaOptions o = resolved();
  for (const auto& [key, value] : {std::pair<const char*, int64_t>{"image_size", o.image_size},
                                   {"in_channels", o.in_channels},
                                   {"num_classes", o.num_classes},
                                   {"patch_size", o.patch_size},
                                   {"embed_dim", o.embed_dim},
                                   {"depth", o.depth},
                                   {"num_heads", o.num_heads},
                                   {"d_state", o.d_state},
                                   {"d_conv", o.d_conv},
                                   {"expand", o.expand}}) {
    require_positive_option(kVisionMambaWhat, key, value);
  }
  if (o.image_size % o.patch_size != 0) {
    invalid_option(kVisionMambaWhat, "patch_size",
                   "a divisor of image_size " + std::to_string(o.image_size),
                   std::to_string(o.patch_size));
  }
  if (o.embed_dim % o.num_heads != 0) {
    invalid_option(kVisionMambaWhat, "num_heads",
                   "a divisor of embed_dim " + std::to_string(o.embed_dim),
                   std::to_string(o.num_heads));
  }
  if (!(o.mlp_ratio > 0))
    invalid_option(kVisionMambaWhat, "mlp_ratio", "positive", std::to_string(o.mlp_ratio));
  if (o.pool != "cls" && o.pool != "mean") {
    invalid_option(kVisionMambaWhat, "pool", "\"cls\" or \"mean\"", "\"" + o.pool + "\"");
  }
  require_probability_option(kVisionMambaWhat, "dropout", o.dropout);
  require_probability_option(kVisionMambaWhat, "attention_dropout", o.attention_dropout);
  require_probability_option(kVisionMambaWhat, "drop_path", o.drop_path);
}

void to_json(nlohmann::json& j, const VisionMambaOptions& options) {
  const VisionMambaOptions o = options.resolved();
  j = nlohmann::json{{"size", o.size},
                     {"image_size", o.image_size},
                     {"in_channels", o.in_channels},
                     {"num_classes", o.num_classes},
                     {"patch_size", o.patch_size},
                     {"embed_dim", o.embed_dim},
                     {"depth", o.depth},
                     {"num_heads", o.num_heads},
                     {"d_state", o.d_state},
                     {"d_conv", o.d_conv},
                     {"expand", o.expand},
                     {"mlp_ratio", o.mlp_ratio},
                     {"bidirectional", o.bidirectional},
                     {"pool", o.pool},
                     {"dropout", o.dropout},
                     {"attention_dropout", o.attention_dropout},
                     {"drop_path", o.drop_path}};
}

void from_json(const nlohmann::json& j, VisionMambaOptions& o) {
  JsonFieldReader r(j, kVisionMambaWhat);
  r.read("size", o.size);
  r.read("image_size", o.image_size);
  r.read("in_channels", o.in_channels);
  r.read("num_classes", o.num_classes);
  r.read("patch_size", o.patch_size);
  r.read("embed_dim", o.embed_dim);
  r.read("depth", o.depth);
  r.read("num_heads", o.num_heads);
  r.read("d_state", o.d_state);
  r.read("d_conv", o.d_conv);
  r.read("expand", o.expand);
  r.read("mlp_ratio", o.mlp_ratio);
  r.read("bidirectional", o.bidirectional);
  r.read("pool", o.pool);
  r.read("dropout", o.dropout);
  r.read("attention_dropout", o.attention_dropout);
  r.read("drop_path", o.drop_path);
  r.finish();
  o.validate();
}

VisionMambaOptions vision_mamba_options_from_json(const nlohmann::json& j) {
  VisionMambaOptions o;
  from_json(j, o);
  return o;
}

VisionMambaImpl::VisionMambaImpl(const VisionMambaOptions& options) : options_(options.resolved()) {
  options_.validate();
  const VisionMambaOptions& o = options_;
  patch_embed_ = register_module(
      "patch_embed",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(o.in_channels, o.embed_dim, o.patch_size).stride(o.patch_size)));
  if (o.pool == "cls") {
    class_token_ = register_parameter("class_token", embedding_init({1, 1, o.embed_dim}));
  }
  positions_ = register_parameter("positions", embedding_init({1, o.num_tokens(), o.embed_dim}));
  nn::VisionMambaBlockOptions block;
  block.mamba.d_model = o.embed_dim;
  block.mamba.d_state = o.d_state;
  block.mamba.d_conv = o.d_conv;
  block.mamba.expand = o.expand;
  block.bidirectional = o.bidirectional;
  block.num_heads = o.num_heads;
  block.mlp_ratio = o.mlp_ratio;
  block.dropout = o.dropout;
  block.attention_dropout = o.attention_dropout;
  for (int64_t i = 0; i < o.depth; ++i) {
    // Stochastic depth rises linearly with depth: early blocks are kept almost always.
    block.drop_path = o.depth > 1 ? o.drop_path * static_cast<double>(i) / (o.depth - 1) : 0.0;
    blocks_.push_back(register_module("block" + std::to_string(i), nn::VisionMambaBlock(block)));
  }
  norm_ = register_module(
      "norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.embed_dim}).eps(1e-6)));
  head_ = register_module("head", torch::nn::Linear(o.embed_dim, o.num_classes));
}

at::Tensor VisionMambaImpl::forward(const at::Tensor& images) {
  const VisionMambaOptions& o = options_;
  check_shape(images, "VisionMamba", "images", "(B, C, H, W)",
              {-1, o.in_channels, o.image_size, o.image_size});
  check_same_device(images, head_->weight, "VisionMamba", "images", "the model's parameters");
  const int64_t batch = images.size(0);
  const at::Tensor patches = patch_embed_(images);  // (B, D, H/p, W/p)
  trace_shapes("VisionMamba.patch_embed", images, patches);
  at::Tensor tokens = patches.flatten(2).transpose(1, 2);  // (B, P, D)
  if (class_token_.defined()) {
    tokens =
        torch::cat({class_token_.expand({batch, 1, o.embed_dim}).to(tokens.scalar_type()), tokens},
                   1);  // (B, T, D)
  }
  tokens = ops::dropout(tokens + positions_, o.dropout, is_training());
  for (auto& block : blocks_)
    tokens = block(tokens);
  tokens = nn::layer_norm(norm_, tokens);
  const at::Tensor pooled =
      class_token_.defined() ? tokens.select(1, 0) : tokens.mean(1);  // (B, D)
  const at::Tensor logits = head_(pooled);                            // (B, num_classes)
  trace_shapes("VisionMamba", images, logits);
  return logits;
}

}  // namespace ssmkit::models
