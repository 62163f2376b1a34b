// The one-cycle schedule against PyTorch's OneCycleLR (max_lr 1e-3, 10 steps, defaults: values
// printed by torch 1.13), rate and Adam's beta1 per step; the factory's run-length default; an
// exact resume of the rate and the momentum from the state dict.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/train/lr_scheduler.h"
#include "ssmkit/train/optimizer_factory.h"

namespace {

using nlohmann::json;
using namespace ssmkit::train;

// (lr, beta1) of PyTorch's OneCycleLR(max_lr=1e-3, total_steps=10) before each of the 10 steps.
const std::pair<double, double> kTorchOneCycle[] = {{3.9999999999999996e-05, 0.95},
                                                    {0.0005200000000000001, 0.8999999999999999},
                                                    {0.001, 0.85},
                                                    {0.0009504846320134736, 0.854951556604879},
                                                    {0.000811745653949763, 0.8688255099070633},
                                                    {0.0006112620219362892, 0.8888739533021842},
                                                    {0.00038874197806371076, 0.9111260466978157},
                                                    {0.00018825834605023698, 0.9311744900929366},
                                                    {4.9519367986526286e-05, 0.945048443395121},
                                                    {4e-09, 0.95}};

struct OneCycleBench {
  torch::nn::Linear model = torch::nn::Linear(2, 1);
  std::unique_ptr<torch::optim::Optimizer> optimizer = make_optimizer(
      OptimizerConfig::from_json({{"name", "adamw"}, {"lr", 1e-3}}), model->named_parameters());
};

TEST(OneCycleLr, MatchesPyTorchRateAndMomentumPerStep) {
  OneCycleBench bench;
  auto schedule =
      make_lr_scheduler({{"name", "one_cycle"}}, *bench.optimizer, ScheduleContext{5, 2});
  schedule->start();
  for (int64_t step = 0; step < 10; ++step) {
    EXPECT_NEAR(schedule->lr(), kTorchOneCycle[step].first, 1e-15) << "step " << step;
    EXPECT_NEAR(momentum(*bench.optimizer), kTorchOneCycle[step].second, 1e-12) << "step " << step;
    schedule->after_step(step + 1);
  }
}

// Layer-wise rates (optimizer.lr_scales): every group follows the cycle at its own fraction of the
// base rate, and every group's momentum cycles alike.
TEST(OneCycleLr, KeepsEachScaledGroupAtItsShareOfTheRate) {
  torch::OrderedDict<std::string, at::Tensor> named;
  for (const char* name : {"embed.weight", "layers.0.weight", "layers.1.weight", "head.weight"})
    named.insert(name, torch::zeros({2}, torch::requires_grad()));
  json scales = json::array();
  scales.push_back(json::array({"embed", 0.125}));
  scales.push_back(json::array({"layers.0", 0.25}));
  scales.push_back(json::array({"layers.1", 0.5}));
  const auto optimizer = make_optimizer(
      OptimizerConfig::from_json({{"name", "adamw"}, {"lr", 1e-3}, {"lr_scales", scales}}), named);
  const double expected_scales[] = {1.0, 0.125, 0.25, 0.5};  // head first: the unscaled group
  ASSERT_EQ(optimizer->param_groups().size(), 4u);
  auto schedule = make_lr_scheduler({{"name", "one_cycle"}}, *optimizer, ScheduleContext{5, 2});
  schedule->start();
  for (int64_t step = 0; step < 10; ++step) {
    EXPECT_NEAR(schedule->lr(), kTorchOneCycle[step].first, 1e-15) << "step " << step;
    for (size_t g = 0; g < 4; ++g) {
      const auto& options =
          static_cast<const torch::optim::AdamWOptions&>(optimizer->param_groups()[g].options());
      EXPECT_NEAR(options.lr(), kTorchOneCycle[step].first * expected_scales[g], 1e-15)
          << "step " << step << ", group " << g;
      EXPECT_NEAR(std::get<0>(options.betas()), kTorchOneCycle[step].second, 1e-12)
          << "step " << step << ", group " << g;
    }
    schedule->after_step(step + 1);
  }
}

TEST(OneCycleLr, ResumesRateAndMomentumFromItsState) {
  OneCycleBench first, second;
  auto a = make_lr_scheduler({{"name", "one_cycle"}, {"total_steps", 10}}, *first.optimizer, {});
  a->start();
  for (int64_t step = 1; step <= 4; ++step)
    a->after_step(step);
  auto b = make_lr_scheduler({{"name", "one_cycle"}, {"total_steps", 10}}, *second.optimizer, {});
  b->load_state_dict(json::parse(a->state_dict().dump()));
  EXPECT_DOUBLE_EQ(b->lr(), kTorchOneCycle[4].first);
  EXPECT_NEAR(momentum(*second.optimizer), kTorchOneCycle[4].second, 1e-12);
}

}  // namespace
