// Optimizers from config against hand-written float64 update rules, parameter groups, errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "ssmkit/io/error.h"
#include "ssmkit/train/lr_scheduler.h"
#include "ssmkit/train/optimizer_factory.h"

namespace {

using nlohmann::json;
using namespace ssmkit::train;

constexpr int kSteps = 5;

// One float64 parameter w with loss 0.5 * sum(w^2 * c): gradient c * w.
struct Problem {
  torch::Tensor w = torch::tensor({1.5, -0.7, 0.2}, torch::kFloat64).requires_grad_();
  torch::Tensor c = torch::tensor({1.0, 3.0, 0.5}, torch::kFloat64);
  torch::OrderedDict<std::string, at::Tensor> named() const {
    torch::OrderedDict<std::string, at::Tensor> d;
    d.insert("w", w);
    return d;
  }
  void step(torch::optim::Optimizer& opt) {
    opt.zero_grad();
    (0.5 * (w * w * c).sum()).backward();
    opt.step();
  }
};

std::vector<double> values(const torch::Tensor& t) {
  auto c = t.detach().contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

void expect_close(const torch::Tensor& actual, const std::vector<double>& expected) {
  const auto a = values(actual);
  ASSERT_EQ(a.size(), expected.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], expected[i], 1e-12) << "element " << i;
}

TEST(Optimizers, SgdMomentumNesterovWeightDecayMatchesReference) {
  for (const bool nesterov : {false, true}) {
    Problem p;
    const double lr = 0.1, momentum = 0.9, wd = 0.01;
    auto opt = make_optimizer(OptimizerConfig::from_json({{"name", "sgd"},
                                                          {"lr", lr},
                                                          {"momentum", momentum},
                                                          {"nesterov", nesterov},
                                                          {"weight_decay", wd}}),
                              p.named());
    auto w = values(p.w);
    const auto c = values(p.c);
    std::vector<double> buf(w.size(), 0.0);
    for (int t = 0; t < kSteps; ++t) {
      p.step(*opt);
      for (size_t i = 0; i < w.size(); ++i) {
        const double g = c[i] * w[i] + wd * w[i];
        buf[i] = t == 0 ? g : momentum * buf[i] + g;
        w[i] -= lr * (nesterov ? g + momentum * buf[i] : buf[i]);
      }
    }
    expect_close(p.w, w);
  }
}

// Adam (L2 weight decay in the gradient) and AdamW (decoupled decay) with bias correction.
void check_adam(const std::string& name) {
  Problem p;
  const double lr = 0.05, b1 = 0.8, b2 = 0.95, eps = 1e-8, wd = 0.1;
  auto opt = make_optimizer(
      OptimizerConfig::from_json(
          {{"name", name}, {"lr", lr}, {"betas", {b1, b2}}, {"eps", eps}, {"weight_decay", wd}}),
      p.named());
  auto w = values(p.w);
  const auto c = values(p.c);
  std::vector<double> m(w.size(), 0.0), v(w.size(), 0.0);
  for (int t = 1; t <= kSteps; ++t) {
    p.step(*opt);
    for (size_t i = 0; i < w.size(); ++i) {
      double g = c[i] * w[i];
      if (name == "adam") g += wd * w[i];
      if (name == "adamw") w[i] *= 1.0 - lr * wd;
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const double m_hat = m[i] / (1 - std::pow(b1, t));
      const double v_hat = v[i] / (1 - std::pow(b2, t));
      w[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
  expect_close(p.w, w);
}

TEST(Optimizers, AdamMatchesReference) {
  check_adam("adam");
}
TEST(Optimizers, AdamWMatchesReference) {
  check_adam("adamw");
}

TEST(Optimizers, NoWeightDecayNamesGoToASecondGroupAndLrIsUniform) {
  auto linear = torch::nn::Linear(3, 2);
  auto opt =
      make_optimizer(OptimizerConfig::from_json(
                         {{"name", "adamw"}, {"weight_decay", 0.2}, {"no_weight_decay", {"bias"}}}),
                     linear->named_parameters());
  ASSERT_EQ(opt->param_groups().size(), 2u);
  const auto& decayed =
      static_cast<const torch::optim::AdamWOptions&>(opt->param_groups()[0].options());
  const auto& plain =
      static_cast<const torch::optim::AdamWOptions&>(opt->param_groups()[1].options());
  EXPECT_DOUBLE_EQ(decayed.weight_decay(), 0.2);
  EXPECT_DOUBLE_EQ(plain.weight_decay(), 0.0);
  EXPECT_TRUE(opt->param_groups()[1].params()[0].is_same(linear->bias));
  set_learning_rate(*opt, 0.123);
  EXPECT_DOUBLE_EQ(learning_rate(*opt), 0.123);
  EXPECT_DOUBLE_EQ(opt->param_groups()[1].options().get_lr(), 0.123);
}

// S4's recipe: the SSM parameters in a group of their own, rate min(ssm_lr, lr), no weight decay,
// and a schedule that moves that rate in proportion to the others (as PyTorch's cosine does).
TEST(Optimizers, SsmParametersGetTheirOwnRateAndFollowTheSchedule) {
  torch::OrderedDict<std::string, at::Tensor> named;
  named.insert("encoder.weight", torch::zeros({2, 2}, torch::requires_grad()));
  named.insert("layer0.log_dt", torch::zeros({2}, torch::requires_grad()));
  named.insert("layer0.bias", torch::zeros({2}, torch::requires_grad()));
  auto config = OptimizerConfig::from_json({{"name", "adamw"},
                                            {"lr", 0.01},
                                            {"weight_decay", 0.01},
                                            {"no_weight_decay", {"bias"}},
                                            {"ssm_parameters", {"log_dt"}},
                                            {"ssm_lr", 0.001}});
  auto opt = make_optimizer(config, named);
  ASSERT_EQ(opt->param_groups().size(), 3u);
  const auto& ssm = static_cast<const torch::optim::AdamWOptions&>(opt->param_groups()[2].options());
  EXPECT_DOUBLE_EQ(ssm.lr(), 0.001);
  EXPECT_DOUBLE_EQ(ssm.weight_decay(), 0.0);
  EXPECT_TRUE(opt->param_groups()[2].params()[0].is_same(named["layer0.log_dt"]));
  // min(ssm_lr, lr): a smaller lr caps the SSM rate too.
  config.lr = 0.0005;
  EXPECT_DOUBLE_EQ(make_optimizer(config, named)->param_groups()[2].options().get_lr(), 0.0005);

  auto schedule = make_lr_scheduler({{"name", "cosine"}}, *opt, ScheduleContext{10, 2});
  schedule->start();
  for (int64_t step = 1; step <= 10; ++step)
    schedule->after_step(step);
  const double factor = (1 + std::cos(3.14159265358979323846 * 0.5)) / 2;  // halfway
  EXPECT_NEAR(opt->param_groups()[0].options().get_lr(), 0.01 * factor, 1e-12);
  EXPECT_NEAR(opt->param_groups()[2].options().get_lr(), 0.001 * factor, 1e-12);
  EXPECT_THROW(OptimizerConfig::from_json({{"ssm_lr", -1}}), ssmkit::InputError);
}

TEST(Optimizers, StateTensorsFollowParameterOrder) {
  Problem p;
  auto opt = make_optimizer(OptimizerConfig::from_json({{"name", "adam"}}), p.named());
  EXPECT_TRUE(optimizer_state_tensors(*opt).empty());  // no step yet
  p.step(*opt);
  p.step(*opt);
  const auto state = optimizer_state_tensors(*opt);
  ASSERT_EQ(state.size(), 3u);
  EXPECT_EQ(state[0].first, "group0.param0.step");
  EXPECT_EQ(state[0].second.item<int64_t>(), 2);
  EXPECT_EQ(state[1].first, "group0.param0.exp_avg");
}

TEST(Optimizers, ConfigErrorsNameTheKey) {
  auto error_of = [](const json& j) -> std::string {
    try {
      OptimizerConfig::from_json(j);
    } catch (const ssmkit::InputError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of({{"name", "adamm"}}).find("did you mean 'adam'"), std::string::npos);
  EXPECT_NE(error_of({{"lr", -1.0}}).find("optimizer.lr"), std::string::npos);
  EXPECT_NE(error_of({{"momentum", 0.9}, {"nesterov", true}, {"dampening", 0.5}, {"name", "sgd"}})
                .find("nesterov"),
            std::string::npos);
  EXPECT_NE(error_of({{"betas", {0.9}}}).find("betas"), std::string::npos);
  EXPECT_NE(error_of({{"learning_rate", 0.1}}).find("unknown key 'learning_rate'"),
            std::string::npos);
}

TEST(Optimizers, ConfigRoundTripsThroughJson) {
  const auto c = OptimizerConfig::from_json(
      {{"name", "sgd"}, {"lr", 0.3}, {"momentum", 0.5}, {"no_weight_decay", {"D"}}});
  const auto again = OptimizerConfig::from_json(c.to_json());
  EXPECT_EQ(again.to_json(), c.to_json());
}

}  // namespace
