// Vision Mamba: logits of every size preset, the bidirectional scan against the forward scan of
// the flipped tokens, gradients of the mixing gate through both branches, the JSON config.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/models/vision_mamba.h"

namespace {

using ssmkit::InputError;
using ssmkit::models::kVisionMambaPresets;
using ssmkit::models::VisionMamba;
using ssmkit::models::VisionMambaOptions;

VisionMambaOptions small_images(const std::string& size) {
  VisionMambaOptions o;
  o.size = size;
  o.image_size = 8;
  o.in_channels = 1;
  o.patch_size = 4;
  o.num_classes = 7;
  return o;
}

TEST(VisionMamba, LogitsOfEverySizeAndPooling) {
  torch::manual_seed(0);
  bool class_token = true;  // the pooling alternates over the presets: each is built once
  for (const auto& preset : kVisionMambaPresets) {
    {
      const std::string pool = class_token ? "cls" : "mean";
      class_token = !class_token;
      VisionMambaOptions o = small_images(preset.name);
      o.pool = pool;
      VisionMamba model(o);
      EXPECT_EQ(model->options().embed_dim, preset.embed_dim);
      EXPECT_EQ(static_cast<int64_t>(model->blocks().size()), preset.depth);
      EXPECT_EQ(model->options().num_tokens(), pool == "cls" ? 5 : 4);
      const at::Tensor logits = model->forward(torch::randn({3, 1, 8, 8}));
      EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 7})) << preset.name << " " << pool;
      EXPECT_TRUE(torch::isfinite(logits).all().item<bool>()) << preset.name;
    }
  }
}

TEST(VisionMamba, BidirectionalScanIsTheForwardScanOfTheFlippedTokens) {
  torch::manual_seed(1);
  ssmkit::nn::VisionMambaBlockOptions o;
  o.mamba.d_model = 16;
  o.mamba.d_state = 4;
  o.num_heads = 2;
  ssmkit::nn::VisionMambaBlock block(o);
  const at::Tensor h = torch::randn({2, 9, 16});
  torch::NoGradGuard no_grad;
  // The backward branch run as a plain forward scan over the reversed tokens, reversed back.
  const at::Tensor backward = block->backward_mamba(h.flip({1})).flip({1});
  const at::Tensor expected = (block->forward_mamba(h) + backward) * 0.5;
  EXPECT_TRUE(torch::allclose(block->ssm_branch(h), expected, 1e-5, 1e-6));
  // With the backward scan's weights set to the forward scan's, reversing the tokens only
  // reverses the output.
  auto source = block->forward_mamba->named_parameters();
  for (auto& entry : block->backward_mamba->named_parameters())
    entry.value().copy_(source[entry.key()]);
  EXPECT_TRUE(
      torch::allclose(block->ssm_branch(h.flip({1})), block->ssm_branch(h).flip({1}), 1e-5, 1e-6));
}

TEST(VisionMamba, GateGradientReachesBothBranches) {
  torch::manual_seed(2);
  VisionMambaOptions o = small_images("tiny");
  o.drop_path = 0.0;
  VisionMamba model(o);
  const at::Tensor logits = model->forward(torch::randn({4, 1, 8, 8}));
  logits.pow(2).sum().backward();
  for (const auto& block : model->blocks()) {
    ASSERT_TRUE(block->gate.grad().defined());
    EXPECT_GT(block->gate.grad().abs().item<double>(), 0.0);
    EXPECT_GT(block->forward_mamba->in_proj->weight.grad().abs().sum().item<double>(), 0.0);
    EXPECT_GT(block->backward_mamba->in_proj->weight.grad().abs().sum().item<double>(), 0.0);
    EXPECT_GT(block->attention->qkv->weight.grad().abs().sum().item<double>(), 0.0);
  }
}

TEST(VisionMamba, ConfigRoundTripAndErrorsNameTheKey) {
  const auto model = ssmkit::models::create_model(
      "VisionMamba", {{"size", "tiny"}, {"image_size", 28}, {"in_channels", 1}, {"depth", 2}});
  const nlohmann::json config = model->config();
  EXPECT_EQ(config.at("embed_dim"), 64);
  EXPECT_EQ(config.at("depth"), 2);
  EXPECT_EQ(ssmkit::models::create_model("VisionMamba", config)->config(), config);
  try {
    ssmkit::models::create_model("VisionMamba", {{"size", "huge"}});
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "size");
    EXPECT_NE(std::string(e.what()).find("tiny, small, base, large"), std::string::npos);
  }
  EXPECT_THROW(ssmkit::models::create_model("VisionMamba", {{"patch_size", 5}}), InputError);
  EXPECT_THROW(ssmkit::models::create_model("VisionMamba", {{"depht", 2}}), InputError);
}

}  // namespace
