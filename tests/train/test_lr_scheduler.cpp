// Learning-rate schedules against hand-computed values, resume through state_dict, factory errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/train/lr_scheduler.h"
#include "ssmkit/train/optimizer_factory.h"

namespace {

using nlohmann::json;
using namespace ssmkit::train;

constexpr double kTolerance = 1e-15;

struct OptimizerBench {
  torch::nn::Linear model = torch::nn::Linear(2, 1);
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  explicit OptimizerBench(double lr = 1e-3, bool two_groups = false) {
    json config = {{"name", "adam"}, {"lr", lr}};
    if (two_groups) config["no_weight_decay"] = {"bias"};
    optimizer = make_optimizer(OptimizerConfig::from_json(config), model->named_parameters());
  }
  std::unique_ptr<LrScheduler> make(const json& section, ScheduleContext context = {}) {
    return make_lr_scheduler(section, *optimizer, context);
  }
};

std::map<std::string, double> val_loss(double v) {
  return {{"train_loss", 0.0}, {"val_loss", v}};
}

TEST(LrScheduler, ConstantKeepsTheBaseRate) {
  OptimizerBench s(0.02);
  auto sched = s.make({{"name", "constant"}});
  sched->start();
  for (int step = 1; step <= 3; ++step)
    sched->after_step(step);
  sched->after_epoch(1, val_loss(1.0));
  EXPECT_DOUBLE_EQ(sched->lr(), 0.02);
}

TEST(LrScheduler, CosineWithWarmupMatchesHandComputedValues) {
  // base 1e-3, 4 warmup steps, 12 total, min 1e-5: rate used by step s (0-based).
  const std::vector<double> expected = {0.00025,
                                        0.0005,
                                        0.00075,
                                        0.001,
                                        0.001,
                                        0.000962320368593087,
                                        0.000855017856687341,
                                        0.0006944282990207195,
                                        0.000505,
                                        0.0003155717009792806,
                                        0.000154982143312659,
                                        4.7679631406913064e-05,
                                        1e-05,
                                        1e-05};
  OptimizerBench s(1e-3, /*two_groups=*/true);
  auto sched =
      s.make({{"name", "cosine"}, {"warmup_steps", 4}, {"total_steps", 12}, {"min_lr", 1e-5}});
  sched->start();
  for (size_t step = 0; step < expected.size(); ++step) {
    EXPECT_NEAR(sched->lr(), expected[step], kTolerance) << "step " << step;
    EXPECT_NEAR(s.optimizer->param_groups()[1].options().get_lr(), expected[step], kTolerance);
    sched->after_step(static_cast<int64_t>(step) + 1);
  }
}

TEST(LrScheduler, CosineTotalStepsDefaultsToTheRunLength) {
  OptimizerBench s(1.0);
  auto sched = s.make({{"name", "cosine"}}, ScheduleContext{/*steps_per_epoch=*/5, /*epochs=*/2});
  sched->start();
  EXPECT_DOUBLE_EQ(sched->lr(), 1.0);
  sched->after_step(5);  // halfway through 10 steps: (1 + cos(pi / 2)) / 2
  EXPECT_NEAR(sched->lr(), 0.5, 1e-15);
  sched->after_step(10);
  EXPECT_NEAR(sched->lr(), 0.0, 1e-15);
}

TEST(LrScheduler, StepDecayByEpochAndByStep) {
  OptimizerBench s(1e-3);
  auto by_epoch = s.make({{"name", "step"}, {"step_size", 2}, {"gamma", 0.1}});
  by_epoch->start();
  const std::vector<double> after_epoch = {1e-3, 1e-4, 1e-4, 1e-5, 1e-5};
  for (int e = 1; e <= 5; ++e) {
    by_epoch->after_step(e * 10);  // steps do not move an epoch schedule
    by_epoch->after_epoch(e, val_loss(1.0));
    EXPECT_NEAR(by_epoch->lr(), after_epoch[e - 1], 1e-18) << "epoch " << e;
  }
  OptimizerBench t(1.0);
  auto by_step = t.make({{"name", "step"}, {"step_size", 3}, {"gamma", 0.5}, {"interval", "step"}});
  by_step->start();
  const std::vector<double> before_step = {1, 1, 1, 0.5, 0.5, 0.5, 0.25};
  for (size_t step = 0; step < before_step.size(); ++step) {
    EXPECT_DOUBLE_EQ(by_step->lr(), before_step[step]) << "step " << step;
    by_step->after_step(static_cast<int64_t>(step) + 1);
  }
}

TEST(LrScheduler, TimeSeriesType1HalvesEachEpoch) {
  OptimizerBench s(1e-3);
  auto sched = s.make({{"name", "type1"}});
  sched->start();
  const std::vector<double> expected = {1e-3, 5e-4, 2.5e-4, 1.25e-4, 6.25e-5};
  for (int e = 1; e <= 5; ++e) {
    sched->after_epoch(e, val_loss(1.0));
    EXPECT_NEAR(sched->lr(), expected[e - 1], 1e-18) << "after epoch " << e;
  }
}

TEST(LrScheduler, TimeSeriesType2FollowsTheFixedTable) {
  OptimizerBench s(1e-4);
  auto sched = s.make({{"name", "type2"}});
  sched->start();
  const std::map<int, double> expected = {{1, 1e-4},  {2, 5e-5},  {3, 5e-5},  {4, 1e-5},
                                          {5, 1e-5},  {6, 5e-6},  {8, 1e-6},  {10, 5e-7},
                                          {14, 5e-7}, {15, 1e-7}, {20, 5e-8}, {25, 5e-8}};
  for (int e = 1; e <= 25; ++e) {
    sched->after_epoch(e, val_loss(1.0));
    const auto it = expected.find(e);
    if (it != expected.end()) {
      EXPECT_DOUBLE_EQ(sched->lr(), it->second) << "after epoch " << e;
    }
  }
}

TEST(LrScheduler, TimeSeriesType3HoldsThenDecays) {
  OptimizerBench s(1e-3);
  auto sched = s.make({{"name", "type3"}});
  sched->start();
  const std::vector<double> expected = {1e-3, 1e-3, 1e-3, 9e-4, 8.1e-4, 7.29e-4};
  for (int e = 1; e <= 6; ++e) {
    sched->after_epoch(e, val_loss(1.0));
    EXPECT_NEAR(sched->lr(), expected[e - 1], 1e-17) << "after epoch " << e;
  }
}

TEST(LrScheduler, PlateauReducesAfterPatienceWithCooldownAndFloor) {
  OptimizerBench s(1.0);
  auto sched = s.make({{"name", "plateau"},
                       {"factor", 0.5},
                       {"patience", 1},
                       {"threshold", 0.1},
                       {"cooldown", 1},
                       {"min_lr", 0.3}});
  sched->start();
  // Trace (rel threshold 0.1: better means < best * 0.9):
  //  e1 10  best 10
  //  e2 9.5 not better (>= 9), bad 1
  //  e3 9.2 bad 2 > patience 1 -> lr 0.5, cooldown 1
  //  e4 9.1 bad 1, cooldown 1 -> 0, bad reset 0
  //  e5 9.05 bad 1
  //  e6 9.01 bad 2 -> lr 0.25 floored to 0.3, cooldown 1
  //  e7 5.0 better, best 5, cooldown ends
  //  e8, e9 5.0 bad 1, 2 -> 0.15 floored to 0.3: no change; e10 in cooldown
  const std::vector<double> metric = {10, 9.5, 9.2, 9.1, 9.05, 9.01, 5.0, 5.0, 5.0, 5.0};
  const std::vector<double> expected = {1, 1, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3};
  for (size_t e = 0; e < metric.size(); ++e) {
    sched->after_epoch(static_cast<int64_t>(e) + 1, val_loss(metric[e]));
    EXPECT_DOUBLE_EQ(sched->lr(), expected[e]) << "after epoch " << e + 1;
  }
}

TEST(LrScheduler, PlateauMaxModeWithAbsoluteThreshold) {
  OptimizerBench s(1.0);
  auto sched = s.make({{"name", "plateau"},
                       {"monitor", "val_accuracy"},
                       {"mode", "max"},
                       {"factor", 0.1},
                       {"patience", 0},
                       {"threshold", 0.01},
                       {"threshold_mode", "abs"}});
  sched->start();
  sched->after_epoch(1, {{"val_accuracy", 0.50}});
  EXPECT_DOUBLE_EQ(sched->lr(), 1.0);
  sched->after_epoch(2, {{"val_accuracy", 0.505}});  // within 0.01: not an improvement
  EXPECT_DOUBLE_EQ(sched->lr(), 0.1);
  sched->after_epoch(3, {{"val_accuracy", 0.6}});
  EXPECT_DOUBLE_EQ(sched->lr(), 0.1);
  try {
    sched->after_epoch(4, {{"val_loss", 1.0}});
    FAIL() << "missing monitor accepted";
  } catch (const ssmkit::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'val_accuracy' is not computed"), std::string::npos);
  }
}

TEST(LrScheduler, StateDictResumesExactly) {
  const json config = {{"name", "plateau"}, {"factor", 0.5}, {"patience", 1}};
  const std::vector<double> metric = {5, 4, 4.5, 4.4, 4.3, 4.2, 4.1, 3.0, 3.1, 3.2};
  OptimizerBench a(1.0);
  auto full = a.make(config);
  full->start();
  OptimizerBench b(1.0);
  auto first = b.make(config);
  first->start();
  for (size_t e = 0; e < 4; ++e) {
    full->after_epoch(static_cast<int64_t>(e) + 1, val_loss(metric[e]));
    first->after_epoch(static_cast<int64_t>(e) + 1, val_loss(metric[e]));
  }
  const json saved = json::parse(first->state_dict().dump());  // through text, as in checkpoints
  OptimizerBench c(1.0);
  auto resumed = c.make(config);
  resumed->load_state_dict(saved);
  EXPECT_DOUBLE_EQ(resumed->lr(), full->lr());
  for (size_t e = 4; e < metric.size(); ++e) {
    full->after_epoch(static_cast<int64_t>(e) + 1, val_loss(metric[e]));
    resumed->after_epoch(static_cast<int64_t>(e) + 1, val_loss(metric[e]));
    EXPECT_DOUBLE_EQ(resumed->lr(), full->lr()) << "epoch " << e + 1;
  }
  auto other = c.make({{"name", "type1"}});
  EXPECT_THROW(other->load_state_dict(saved), ssmkit::InputError);
}

TEST(LrScheduler, FactoryRejectsUnknownNamesAndKeys) {
  OptimizerBench s;
  auto error_of = [&](const json& j) -> std::string {
    try {
      s.make(j, ScheduleContext{10, 2});
    } catch (const ssmkit::InputError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of({{"name", "cosin"}}).find("did you mean 'cosine'"), std::string::npos);
  EXPECT_NE(error_of({{"name", "step"}, {"gama", 0.5}}).find("unknown key 'gama'"),
            std::string::npos);
  EXPECT_NE(error_of({{"name", "cosine"}, {"warmup_steps", 50}}).find("warmup_steps"),
            std::string::npos);
  EXPECT_NE(error_of({{"name", "plateau"}, {"factor", 2.0}}).find("scheduler.factor"),
            std::string::npos);
}

}  // namespace
