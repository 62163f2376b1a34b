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
