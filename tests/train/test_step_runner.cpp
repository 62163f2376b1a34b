// StepRunner on the CPU: fused steps equal plain ones; after loading weights replaces the
// parameters' storage (as loading a checkpoint does) the fused buffers are rebuilt from the loaded
// values and the optimizer state carries on; an optimizer it cannot fuse falls back to plain.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "ssmkit/train/optimizer_factory.h"
#include "ssmkit/train/step_runner.h"
#include "ssmkit/train/trainable_model.h"
#include "train/train_fixtures.h"

namespace {

using namespace ssmkit::train;

using ssmkit::testing::mse;

struct Rig {
  torch::nn::Linear net{nullptr};
  std::unique_ptr<ModuleModel> model;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<StepRunner> runner;
  Rig(StepMode mode, const std::string& optimizer_name) {
    torch::manual_seed(4);
    net = torch::nn::Linear(3, 2);
    net->to(torch::kFloat64);
    model = wrap_module(net);
    OptimizerConfig config;
    config.name = optimizer_name;
    config.lr = 0.05;
    optimizer = make_optimizer(config, model->named_parameters());
    runner = std::make_unique<StepRunner>(mode, *model, *optimizer, mse, false, c10::Device("cpu"));
  }
  // One step on batch `i`; returns [loss, gradient norm].
  at::Tensor step(int i) {
    torch::manual_seed(50 + i);
    const auto x = torch::randn({6, 3}, torch::kFloat64);
    const auto y = torch::randn({6, 2}, torch::kFloat64);
    const at::Tensor result = runner->forward_backward(x, y).clone();
    runner->optimizer_step();
    return result;
  }
};

TEST(StepRunner, FusedStepsEqualPlainStepsAcrossAWeightReload) {
  Rig plain(StepMode::kPlain, "adam");
  Rig fused(StepMode::kFused, "adam");
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(torch::allclose(plain.step(i), fused.step(i), 1e-12, 1e-14)) << "step " << i;
  }
  // Replace the weights in both, as InputArchive::read does (set_ on the parameter).
  {
    torch::NoGradGuard no_grad;
    for (Rig* s : {&plain, &fused}) {
      s->net->weight.set_(torch::full({2, 3}, 0.1, torch::kFloat64));
    }
  }
  for (int i = 3; i < 6; ++i) {
    EXPECT_TRUE(torch::allclose(plain.step(i), fused.step(i), 1e-12, 1e-14)) << "step " << i;
  }
  EXPECT_TRUE(torch::allclose(plain.net->weight, fused.net->weight, 1e-12, 1e-14));
  EXPECT_TRUE(torch::allclose(plain.net->bias, fused.net->bias, 1e-12, 1e-14));
  EXPECT_EQ(fused.runner->mode(), StepMode::kFused);
}

TEST(StepRunner, AnOptimizerItCannotFuseRunsPlain) {
  spdlog::set_level(spdlog::level::off);
  torch::manual_seed(4);
  torch::nn::Linear net(3, 2);
  auto model = wrap_module(net);
  torch::optim::RMSprop rmsprop(net->parameters(), torch::optim::RMSpropOptions(0.01));
  StepRunner runner(StepMode::kFused, *model, rmsprop, mse, false, c10::Device("cpu"));
  const auto before = net->weight.detach().clone();
  runner.forward_backward(torch::randn({4, 3}), torch::randn({4, 2}));
  runner.optimizer_step();
  spdlog::set_level(spdlog::level::info);
  EXPECT_EQ(runner.mode(), StepMode::kPlain);
  EXPECT_FALSE(torch::equal(before, net->weight));
}

}  // namespace
