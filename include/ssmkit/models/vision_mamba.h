// Vision Mamba image classifier: images (B, C, H, W) -> class logits (B, num_classes).
//   conv patch embedding (kernel = stride = patch_size)      (B, P, D), P = (H/p)(W/p)
//   [class token prepended] + learned positions, dropout     (B, T, D), T = P (+1)
//   depth x VisionMambaBlock (SSM scan, forward and backward when bidirectional, mixed with
//     self-attention by a learned per-block gate; MLP; dropout; stochastic depth rising
//     linearly from 0 to drop_path over the blocks)           (B, T, D)
//   LayerNorm, class token or mean over tokens, linear head  (B, num_classes)
// Sizes come as presets ("size": tiny | small | base | large, see kVisionMambaPresets) whose
// fields may each be overridden; the parameter counts of the presets are in docs/vision_mamba.md.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "ssmkit/models/model.h"
#include "ssmkit/nn/vision_mamba_block.h"

namespace ssmkit::models {

// The dimensions a size preset fixes.
struct VisionMambaSize {
  const char* name;
  int64_t embed_dim;
  int64_t depth;
  int64_t num_heads;
  int64_t d_state;
  int64_t d_conv;
};
inline constexpr VisionMambaSize kVisionMambaPresets[] = {
    {"tiny", 64, 4, 2, 8, 4},
    {"small", 128, 6, 4, 16, 4},
    {"base", 256, 8, 8, 16, 4},
    {"large", 384, 12, 8, 16, 4},
};

struct VisionMambaOptions {
  std::string size = "small";  // preset of the dimensions below that are 0
  int64_t image_size = 32;     // H = W
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  int64_t patch_size = 4;
  int64_t embed_dim = 0;  // D; 0: the preset's
  int64_t depth = 0;      // blocks; 0: the preset's
  int64_t num_heads = 0;  // 0: the preset's
  int64_t d_state = 0;    // 0: the preset's
  int64_t d_conv = 0;     // 0: the preset's
  int64_t expand = 2;     // Mamba d_inner = expand * D
  double mlp_ratio = 4.0;
  bool bidirectional = true;
  std::string pool = "cls";  // "cls" (class token) | "mean" (mean over the patch tokens)
  double dropout = 0.0;      // after the positions, after each branch, inside the MLP
  double attention_dropout = 0.0;
  double drop_path = 0.1;  // stochastic depth of the last block

  int64_t num_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
  int64_t num_tokens() const { return num_patches() + (pool == "cls" ? 1 : 0); }
  // The preset's dimensions filled into the fields left at 0.
  VisionMambaOptions resolved() const;
  // Throws InputError naming the first invalid key.
  void validate() const;
};

// Flat JSON object with the field names above as keys. Missing keys keep their defaults; unknown
// keys, wrong types and invalid values throw InputError naming the key. The dimensions come back
// resolved, so a checkpoint's config rebuilds the model even if presets change.
void to_json(nlohmann::json& j, const VisionMambaOptions& options);
void from_json(const nlohmann::json& j, VisionMambaOptions& options);
VisionMambaOptions vision_mamba_options_from_json(const nlohmann::json& j);

class VisionMambaImpl : public Model {
 public:
  explicit VisionMambaImpl(const VisionMambaOptions& options);

  std::string type_name() const override { return "VisionMamba"; }
  nlohmann::json config() const override { return options_; }
  at::Tensor forward(const at::Tensor& images) override;  // (B, C, H, W) -> (B, num_classes)

  const VisionMambaOptions& options() const { return options_; }
  const std::vector<nn::VisionMambaBlock>& blocks() const { return blocks_; }

 private:
  VisionMambaOptions options_;  // resolved
  torch::nn::Conv2d patch_embed_{nullptr};
  at::Tensor class_token_;  // (1, 1, D); undefined with mean pooling
  at::Tensor positions_;    // (1, T, D)
  std::vector<nn::VisionMambaBlock> blocks_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(VisionMamba);

}  // namespace ssmkit::models
