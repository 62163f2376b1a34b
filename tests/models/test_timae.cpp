// The Ti-MAE models: masking keeps floor(L (1 - ratio)) steps per sample in time order and the
// decoder restores the original order; the CLS token has a position even when the input is as
// long as max_len (the Lightning code's failure); positions interpolate past max_len; the
// pretraining loss looks at removed steps only; the classifier pools as configured; the
// classifier's encoder carries the pretraining model's parameter names; gradients reach every
// parameter; the layer-wise rate scales follow MAE's decay and name real parameters; bad settings
// name their key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>

#include "ssmkit/io/error.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/models/timae.h"
#include "ssmkit/models/timae_for_pretraining.h"
#include "ssmkit/models/timae_layer_lr_scales.h"
#include "ssmkit/ops/random_masking.h"
#include "test_helpers.h"

namespace ssmkit {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

json small_timae(bool mamba) {
  json c = {{"input_dim", 2},
            {"emb_size", 16},
            {"decoder_emb_size", 8},
            {"num_heads", 2},
            {"num_decoder_heads", 2},
            {"num_layers", 1},
            {"num_decoder_layers", 1},
            {"intermediate_dim", 32},
            {"decoder_intermediate_dim", 16},
            {"max_len", 12},
            {"mask_ratio", 0.75},
            {"ssm_state_size", 8},
            {"decoder_ssm_state_size", 8},
            {"chunk_size", 4}};
  if (mamba) c["num_heads"] = 4;
  return c;
}

std::shared_ptr<models::Model> timae_model(const std::string& name, json config = json::object()) {
  json c = small_timae(name.rfind("TiMAEMamba", 0) == 0);
  c.update(config);
  if (name == "TiMAE" || name == "TiMAEMamba") c["num_classes"] = 3;
  return models::create_model(name, c);
}

TEST(TiMAE, RegistryKnowsTheFourModelsByTheirLightningNames) {
  for (const char* name :
       {"TiMAE", "TiMAEForPretraining", "TiMAEMamba", "TiMAEMambaForPretraining"}) {
    EXPECT_TRUE(models::is_registered_model(name)) << name;
    EXPECT_EQ(timae_model(name)->type_name(), name);
  }
}

TEST(TiMAE, MaskKeepsFloorOfTheKeptShareInTimeOrderAndRestoresTheOrder) {
  torch::manual_seed(1);
  for (const auto& [length, ratio] :
       std::vector<std::pair<int64_t, double>>{{140, 0.75}, {10, 0.33}, {7, 0.5}}) {
    const int64_t kept = static_cast<int64_t>(static_cast<double>(length) * (1.0 - ratio));
    EXPECT_EQ(ops::kept_steps(length, ratio), kept);
    const ops::RandomMask m = ops::random_mask(5, length, ratio, torch::kFloat32);
    ASSERT_EQ(m.keep_ids.sizes(), (std::vector<int64_t>{5, kept}));
    EXPECT_TRUE(torch::all(m.keep_ids.diff(1, 1) > 0).item<bool>()) << "kept steps ascend";
    EXPECT_TRUE(torch::all(m.mask.sum(1) == length - kept).item<bool>());
    const at::Tensor x =
        torch::arange(length, torch::kFloat32).reshape({1, length, 1}).expand({5, length, 1});
    const at::Tensor kept_values = ops::gather_steps(x, m.keep_ids);
    const at::Tensor restored = ops::restore_steps(kept_values, torch::full({1}, -1.0), m);
    // Kept steps come back in place; removed ones hold the fill value exactly where mask is 1.
    EXPECT_TRUE(torch::equal(restored.squeeze(-1) == -1, m.mask == 1));
    EXPECT_TRUE(torch::equal(restored.squeeze(-1) * (1 - m.mask), x.squeeze(-1) * (1 - m.mask)));
  }
  EXPECT_THAT([] { ops::kept_steps(10, 1.0); }, ThrowsMessage<InputError>(HasSubstr("mask_ratio")));
  EXPECT_THAT([] { ops::kept_steps(3, 0.9); },
              ThrowsMessage<InputError>(HasSubstr("keeps no step")));
}

TEST(TiMAE, ClsTokenFitsBesidesMaxLenStepsAndLongerInputsInterpolate) {
  // The Lightning code's position table has max_len rows, so max_len steps plus CLS fail there.
  const auto positions = models::timae_positions(140, 140, 64, torch::kFloat32);
  EXPECT_EQ(positions.sizes(), (std::vector<int64_t>{141, 64}));
  const auto longer = models::timae_positions(30, 12, 8, torch::kFloat64);
  ASSERT_EQ(longer.sizes(), (std::vector<int64_t>{31, 8}));
  // Interpolation keeps the CLS row and stays within the table's range.
  const auto table = models::timae_positions(12, 12, 8, torch::kFloat64);
  EXPECT_TRUE(torch::equal(longer[0], table[0]));
  EXPECT_LE(longer.abs().max().item<double>(), 1.0 + 1e-12);
  for (const char* name :
       {"TiMAE", "TiMAEForPretraining", "TiMAEMamba", "TiMAEMambaForPretraining"}) {
    auto model = timae_model(name);
    model->eval();
    const at::Tensor out = model->forward(torch::randn({2, 30, 2}));  // 30 > max_len 12
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>()) << name;
  }
}

TEST(TiMAE, PretrainingReconstructsEveryStepAndLossCountsOnlyRemovedSteps) {
  torch::manual_seed(3);
  for (const char* name : {"TiMAEForPretraining", "TiMAEMambaForPretraining"}) {
    auto model = timae_model(name);
    const at::Tensor x = torch::randn({4, 12, 2});
    const at::Tensor out = model->forward(x);
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{4, 12, 3})) << name;
    const at::Tensor mask = out.select(2, 2);
    EXPECT_TRUE(torch::all(mask.sum(1) == 12 - 3).item<bool>())
        << name;  // floor(12 * 0.25) = 3 kept
    // Changing the reconstruction at kept steps does not change the loss.
    at::Tensor changed = out.detach().clone();
    changed.narrow(2, 0, 2).add_((1 - mask).unsqueeze(-1) * 100.0);
    EXPECT_NEAR(models::masked_reconstruction_loss(changed, x).item<double>(),
                models::masked_reconstruction_loss(out.detach(), x).item<double>(), 1e-5);
    const at::Tensor expected =
        ((out.narrow(2, 0, 2) - x).pow(2).mean(-1) * mask).sum() / mask.sum();
    EXPECT_NEAR(models::masked_reconstruction_loss(out, x).item<double>(), expected.item<double>(),
                1e-6);
    models::masked_reconstruction_loss(out, x).backward();
    testing::expect_gradient_in_every_parameter(*model);
  }
}

TEST(TiMAE, ClassifierPoolsAsConfiguredAndTrainsEveryParameter) {
  torch::manual_seed(4);
  for (const char* name : {"TiMAE", "TiMAEMamba"}) {
    for (const char* pooling : {"cls", "avg", "max"}) {
      auto model = timae_model(name, {{"pooling", pooling}});
      const at::Tensor logits = model->forward(torch::randn({3, 12, 2}));
      ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{3, 3})) << name << " " << pooling;
      if (std::string(pooling) == "cls") {
        logits.sum().backward();
        testing::expect_gradient_in_every_parameter(*model);
      }
    }
  }
}

TEST(TiMAE, EvaluationIsDeterministicAndIndependentOfTheBatch) {
  auto model = timae_model("TiMAE", {{"pooling", "avg"}});
  model->eval();
  const at::Tensor x = torch::randn({4, 12, 2});
  const at::Tensor all = model->forward(x);
  EXPECT_TRUE(torch::allclose(all, model->forward(x)));
  EXPECT_TRUE(torch::allclose(all.narrow(0, 1, 1), model->forward(x.narrow(0, 1, 1)), 1e-5, 1e-6));
}

TEST(TiMAE, MambaMixerDropoutActsInTrainingOnly) {
  const at::Tensor x = torch::randn({4, 12, 2});
  torch::manual_seed(7);
  auto plain = timae_model("TiMAEMamba", {{"pooling", "avg"}});
  torch::manual_seed(7);
  auto dropped = timae_model("TiMAEMamba", {{"pooling", "avg"}, {"mixer_dropout_prob", 0.5}});
  EXPECT_EQ(dropped->config().at("mixer_dropout_prob").get<double>(), 0.5);
  // Without it the Mamba layers have no randomness; with it two training passes differ.
  EXPECT_TRUE(torch::equal(plain->forward(x), plain->forward(x)));
  EXPECT_FALSE(torch::allclose(dropped->forward(x), dropped->forward(x)));
  plain->eval();
  dropped->eval();
  EXPECT_TRUE(torch::allclose(plain->forward(x), dropped->forward(x)));
}

TEST(TiMAE, FineTuningMaskDropsStepsInTrainingOnly) {
  const at::Tensor x = torch::randn({4, 12, 2});
  for (const char* name : {"TiMAE", "TiMAEMamba"}) {
    for (const char* pooling : {"cls", "avg", "max"}) {
      torch::manual_seed(3);
      auto plain = timae_model(
          name, {{"pooling", pooling}, {"attn_dropout_prob", 0.0}, {"ffn_dropout_prob", 0.0}});
      torch::manual_seed(3);
      auto masked = timae_model(name, {{"pooling", pooling},
                                       {"attn_dropout_prob", 0.0},
                                       {"ffn_dropout_prob", 0.0},
                                       {"finetune_mask_ratio", 0.5}});
      // Training sees a random half of the steps: two passes differ, and gradients flow.
      EXPECT_TRUE(torch::equal(plain->forward(x), plain->forward(x))) << name << " " << pooling;
      const at::Tensor logits = masked->forward(x);  // (B, classes)
      EXPECT_FALSE(torch::allclose(logits, masked->forward(x))) << name << " " << pooling;
      logits.sum().backward();
      EXPECT_TRUE(masked->named_parameters()["classifier.weight"].grad().defined());
      // Evaluation sees every step: the same as without the option.
      plain->eval();
      masked->eval();
      EXPECT_TRUE(torch::allclose(plain->forward(x), masked->forward(x))) << name << " " << pooling;
    }
  }
}

TEST(TiMAE, ClassifierEncoderHasThePretrainingEncodersParameters) {
  for (const auto& [classifier, pretraining] : std::vector<std::pair<std::string, std::string>>{
           {"TiMAE", "TiMAEForPretraining"}, {"TiMAEMamba", "TiMAEMambaForPretraining"}}) {
    auto head = std::dynamic_pointer_cast<models::TiMAEImpl>(timae_model(classifier));
    auto mae = std::dynamic_pointer_cast<models::TiMAEForPretrainingImpl>(timae_model(pretraining));
    const auto a = head->encoder->named_parameters();
    const auto b = mae->encoder->named_parameters();
    ASSERT_EQ(a.size(), b.size()) << classifier;
    for (const auto& item : a) {
      ASSERT_TRUE(b.contains(item.key())) << item.key();
      EXPECT_EQ(item.value().sizes(), b[item.key()].sizes()) << item.key();
    }
  }
}

TEST(TiMAE, LayerLrScalesDecayFromTheHeadAsMaesFineTuning) {
  models::TiMAEOptions options;
  options.num_layers = 2;
  const std::vector<std::pair<std::string, double>> expected = {{"encoder.embedding", 0.125},
                                                                {"encoder.cls_token", 0.125},
                                                                {"encoder.layers.0", 0.25},
                                                                {"encoder.layers.1", 0.5}};
  EXPECT_EQ(models::timae_layer_lr_scales(options, 0.5), expected);
  EXPECT_TRUE(models::timae_layer_lr_scales(options, 1.0).empty()) << "1: off";
  options.cls_embed = false;
  EXPECT_EQ(models::timae_layer_lr_scales(options, 0.5).size(), 3u) << "no CLS token to scale";
  for (const double bad : {0.0, -0.5, 1.5, std::nan("")}) {
    EXPECT_THAT([&] { models::timae_layer_lr_scales(options, bad); },
                ThrowsMessage<InputError>(HasSubstr("'layer_lr_decay' must be in (0, 1]")))
        << bad;
  }
}

// A renamed module must not switch the decay off silently: every prefix names parameters of the
// built classifiers, and the encoder's final norm and the head keep the base rate.
TEST(TiMAE, LayerLrScalesNameParametersOfBothClassifiers) {
  const auto under = [](const std::string& name, const std::string& prefix) {
    return name == prefix || name.rfind(prefix + ".", 0) == 0;
  };
  for (const std::string name : {"TiMAE", "TiMAEMamba"}) {
    for (const bool cls : {true, false}) {
      const json change = {{"num_layers", 3}, {"cls_embed", cls}, {"pooling", "avg"}};
      auto model = std::dynamic_pointer_cast<models::TiMAEImpl>(timae_model(name, change));
      ASSERT_TRUE(model) << name;
      const auto parameters = model->named_parameters();
      const auto scales = models::timae_layer_lr_scales(model->options(), 0.75);
      ASSERT_EQ(scales.size(), cls ? 5u : 4u);
      for (const auto& [prefix, scale] : scales) {
        bool found = false;
        for (const auto& item : parameters)
          found |= under(item.key(), prefix);
        EXPECT_TRUE(found) << name << ": '" << prefix << "' names no parameter";
      }
      size_t unscaled = 0;
      for (const auto& item : parameters) {
        bool scaled = false;
        for (const auto& entry : scales)
          scaled |= under(item.key(), entry.first);
        const bool head =
            item.key().rfind("classifier.", 0) == 0 || item.key().rfind("encoder.norm.", 0) == 0;
        EXPECT_EQ(scaled, !head) << name << ": " << item.key();
        unscaled += scaled ? 0 : 1;
      }
      EXPECT_EQ(unscaled, 4u) << name << ": the norm's and the head's weights and biases";
    }
  }
}

TEST(TiMAE, BadSettingsNameTheirKey) {
  const struct {
    std::string model;
    json change;
    std::string key;  // the error names it
  } cases[] = {
      {"TiMAEForPretraining", {{"mask_ratio", 1.5}}, "mask_ratio"},
      {"TiMAE", {{"num_heads", 3}}, "num_heads"},
      {"TiMAE", {{"pooling", "median"}}, "pooling"},
      {"TiMAE", {{"cls_embed", false}, {"pooling", "cls"}}, "pooling"},
      {"TiMAEMamba", {{"mixer_dropout_prob", 1.0}}, "mixer_dropout_prob"},
      {"TiMAE", {{"finetune_mask_ratio", -0.1}}, "finetune_mask_ratio"},
      {"TiMAE", {{"emb_sise", 8}}, "emb_sise"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT([&] { timae_model(c.model, c.change); },
                ThrowsMessage<InputError>(HasSubstr(c.key)))
        << c.model << " " << c.change.dump();
  }
  EXPECT_THAT([] { models::create_model("TiMAE", small_timae(false)); },
              ThrowsMessage<InputError>(HasSubstr("num_classes")));
}

}  // namespace
}  // namespace ssmkit
