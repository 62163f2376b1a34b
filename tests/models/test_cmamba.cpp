// CMamba: forecast shape, scale/shift equivariance from RevIN, channel independence without the
// channel mixers, gradients, training batch augmentation, a short fit of a synthetic problem,
// the JSON config and the "st" encoder.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "models/cmamba_fixtures.h"
#include "ssmkit/io/error.h"
#include "ssmkit/models/cmamba.h"
#include "test_helpers.h"

namespace {

using ssmkit::InputError;
using ssmkit::models::CMamba;
using ssmkit::models::CMambaOptions;
using ssmkit::testing::relative_error;

CMambaOptions tiny_options() {
  return ssmkit::testing::tiny_cmamba_options();
}

TEST(CMamba, ForecastShapeAndPatchCount) {
  for (const std::string encoder : {"cmamba", "st"}) {
    CMambaOptions o = tiny_options();
    o.encoder = encoder;
    EXPECT_EQ(o.num_patches(), 6);  // (24 - 8) / 4 + 2
    CMamba model(o);
    const at::Tensor y = model->forward(torch::randn({5, 24, 3}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{5, 8, 3})) << encoder;
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>()) << encoder;
  }
}

TEST(CMamba, ForecastFollowsAffineChangesOfEachInputChannel) {
  // RevIN makes the forecast equivariant to a per-channel scale a > 0 and shift b.
  CMamba model(tiny_options());
  model->eval();
  const at::Tensor x = torch::randn({4, 24, 3});
  const at::Tensor a = torch::rand({1, 1, 3}) * 3 + 0.5;
  const at::Tensor b = torch::randn({1, 1, 3}) * 5;
  const at::Tensor expected = model->forward(x) * a + b;
  EXPECT_LT(relative_error(model->forward(x * a + b), expected), 1e-4);
}

TEST(CMamba, ChannelsStayIndependentWithoutChannelMixersAndInteractWithGddMlp) {
  for (bool gdd : {false, true}) {
    CMambaOptions o = tiny_options();
    o.use_gddmlp = gdd;
    CMamba model(o);
    model->eval();
    const at::Tensor x = torch::randn({2, 24, 3});
    at::Tensor perturbed = x.clone();
    perturbed.select(2, 0).mul_(-2.0).add_(torch::randn({2, 24}));
    const at::Tensor change = (model->forward(perturbed) - model->forward(x)).abs();
    using torch::indexing::Slice;
    const float others = change.index({Slice(), Slice(), Slice(1)}).max().item<float>();
    if (gdd) {
      EXPECT_GT(others, 0.0f);
    } else {
      EXPECT_EQ(others, 0.0f);
    }
  }
}

TEST(CMamba, GradientsAreFiniteForEveryParameter) {
  for (const std::string encoder : {"cmamba", "st"}) {
    CMambaOptions o = tiny_options();
    o.encoder = encoder;
    o.positional = "learned";
    o.revin_affine = true;
    CMamba model(o);
    model->train();
    const at::Tensor y = model->forward(torch::randn({4, 24, 3}));
    (y - torch::randn_like(y)).abs().mean().backward();
    for (const auto& p : model->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << encoder << " " << p.key();
      EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>())
          << encoder << " " << p.key();
    }
  }
}

TEST(CMamba, TrainingBatchIsMixedOnlyInTrainingWithMixupOn) {
  CMamba model(tiny_options());
  model->set_mixup_generator(at::detail::createCPUGenerator(5));
  const at::Tensor x = torch::randn({4, 24, 3});
  const at::Tensor y = torch::randn({4, 8, 3});
  model->train();
  auto [mx, my] = model->augment_training_batch(x, y);
  EXPECT_FALSE(torch::equal(mx, x));
  EXPECT_FALSE(torch::equal(my, y));
  model->eval();
  auto [ex, ey] = model->augment_training_batch(x, y);
  EXPECT_TRUE(torch::equal(ex, x));
  EXPECT_TRUE(torch::equal(ey, y));
  CMambaOptions off = tiny_options();
  off.channel_mixup = false;
  CMamba plain(off);
  plain->train();
  EXPECT_TRUE(torch::equal(plain->augment_training_batch(x, y).first, x));
  EXPECT_THROW(model->augment_training_batch(x, torch::randn({4, 7, 3})), c10::Error);
}

// Noisy sinusoids of random phase and a per-channel period; the model must learn to continue them.
std::pair<at::Tensor, at::Tensor> sinusoid_batch(int64_t batch, const CMambaOptions& o) {
  const int64_t total = o.seq_len + o.pred_len;
  const at::Tensor t = torch::arange(total, torch::kFloat).view({1, total, 1});
  const at::Tensor period = torch::tensor({6.0f, 9.0f, 13.0f}).view({1, 1, 3});
  const at::Tensor phase = torch::rand({batch, 1, 3}) * 2 * M_PI;
  const at::Tensor series =
      torch::sin(2 * M_PI * t / period + phase) + 0.05 * torch::randn({batch, total, 3});
  return {series.narrow(1, 0, o.seq_len), series.narrow(1, o.seq_len, o.pred_len)};
}

TEST(CMamba, AdamStepsReduceTheLossOnSyntheticSinusoids) {
  torch::manual_seed(2021);
  CMambaOptions o = tiny_options();
  o.sigma = 0.5;
  CMamba model(o);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(5e-3));
  auto [val_x, val_y] = sinusoid_batch(64, o);
  auto val_loss = [&] {
    torch::NoGradGuard no_grad;
    model->eval();
    const double loss = (model->forward(val_x) - val_y).abs().mean().item<double>();
    model->train();
    return loss;
  };
  const double before = val_loss();
  constexpr int kSteps = 60;
  for (int step = 0; step < kSteps; ++step) {
    auto [x, y] = sinusoid_batch(16, o);
    auto [mx, my] = model->augment_training_batch(x, y);
    optimizer.zero_grad();
    const at::Tensor loss = (model->forward(mx) - my).abs().mean();
    loss.backward();
    optimizer.step();
  }
  const double after = val_loss();
  EXPECT_LT(after, 0.6 * before) << "before " << before << " after " << after;
}

TEST(CMambaConfig, JsonRoundTripKeepsEveryField) {
  CMambaOptions o = tiny_options();
  o.expand = 2;
  o.d_conv = 3;
  o.mamba_bias = false;
  o.dropout = 0.2;
  o.head_dropout = 0.05;
  o.channel_mixup = false;
  o.sigma = 0.25;
  o.use_gddmlp = false;
  o.channel_attention = true;
  o.reduction = 3;
  o.pool_max = false;
  o.revin = false;
  o.revin_affine = true;
  o.positional = "learned";
  o.encoder = "st";
  const nlohmann::json j = o;
  const CMambaOptions back = j.get<CMambaOptions>();
  EXPECT_EQ(nlohmann::json(back), j);
  EXPECT_EQ(back.encoder, "st");
  EXPECT_EQ(back.pool_max, false);
  EXPECT_DOUBLE_EQ(back.sigma, 0.25);
  // The model reports the config it was built from.
  EXPECT_EQ(CMamba(back)->config(), j);
  // Missing keys keep the anchor defaults.
  const CMambaOptions defaults = nlohmann::json::object().get<CMambaOptions>();
  EXPECT_EQ(nlohmann::json(defaults), nlohmann::json(CMambaOptions{}));
  EXPECT_EQ(defaults.num_patches(), 12);
}

std::string config_error(const nlohmann::json& j) {
  try {
    j.get<CMambaOptions>();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(CMambaConfig, BadConfigsNameTheKey) {
  EXPECT_NE(config_error({{"encoder", "lstm"}}).find("'encoder' is \"lstm\""), std::string::npos);
  EXPECT_NE(config_error({{"d_modle", 64}}).find("unknown field 'd_modle'"), std::string::npos);
  EXPECT_NE(config_error({{"dropout", 1.5}}).find("'dropout'"), std::string::npos);
  EXPECT_NE(config_error({{"n_layers", "3"}}).find("'n_layers'"), std::string::npos);
  EXPECT_NE(config_error({{"seq_len", 4}, {"patch_len", 16}, {"stride", 8}}).find("'patch_len'"),
            std::string::npos);
  EXPECT_NE(config_error({{"pool_avg", false}, {"pool_max", false}}).find("'pool_max'"),
            std::string::npos);
}

TEST(CMamba, RejectsInputOfWrongLength) {
  CMamba model(tiny_options());
  try {
    model->forward(torch::randn({2, 20, 3}));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    EXPECT_NE(msg.find("'x' has shape [2, 20, 3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(B, L, C) = [*, 24, 3]"), std::string::npos) << msg;
  }
}

}  // namespace
