// Optimizers from config against hand-written float64 update rules, parameter groups, errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "ssmkit/io/error.h"
#include "ssmkit/train/fused_optimizer.h"
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
  const auto& ssm =
      static_cast<const torch::optim::AdamWOptions&>(opt->param_groups()[2].options());
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

// [[prefix, scale], ...] as JSON (a braced list of two-item lists would read as an object).
json scales_json(const std::vector<std::pair<std::string, double>>& scales) {
  json out = json::array();
  for (const auto& [prefix, scale] : scales)
    out.push_back(json::array({prefix, scale}));
  return out;
}

torch::OrderedDict<std::string, at::Tensor> zero_parameters(const std::vector<std::string>& names) {
  torch::OrderedDict<std::string, at::Tensor> named;
  for (const auto& name : names)
    named.insert(name, torch::zeros({2}, torch::requires_grad()));
  return named;
}

// The parameters of group `g` are exactly `names`, in this order.
void expect_group(const torch::optim::Optimizer& opt, size_t g,
                  const torch::OrderedDict<std::string, at::Tensor>& named,
                  const std::vector<std::string>& names, double lr, double weight_decay) {
  ASSERT_LT(g, opt.param_groups().size());
  const auto& group = opt.param_groups()[g];
  const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
  EXPECT_DOUBLE_EQ(options.lr(), lr) << "group " << g;
  EXPECT_DOUBLE_EQ(options.weight_decay(), weight_decay) << "group " << g;
  ASSERT_EQ(group.params().size(), names.size()) << "group " << g;
  for (size_t i = 0; i < names.size(); ++i)
    EXPECT_TRUE(group.params()[i].is_same(named[names[i]])) << "group " << g << ": " << names[i];
}

// Layer-wise rates: the unscaled groups first, then each scale's (decayed, not decayed, SSM) in
// the order of its first parameter; the longest prefix wins, and a prefix ends at a dot.
TEST(Optimizers, LrScalesGroupParametersByTheirLongestPrefixAfterTheUnscaledOnes) {
  const auto named =
      zero_parameters({"cls", "embed.weight", "layers.1.weight", "layers.1.bias", "layers.1.log_dt",
                       "layers.10.weight", "head.weight", "head.bias"});
  const auto config = OptimizerConfig::from_json(
      {{"name", "adamw"},
       {"lr", 0.01},
       {"weight_decay", 0.05},
       {"no_weight_decay", {"bias"}},
       {"ssm_parameters", {"log_dt"}},
       {"ssm_lr", 0.004},
       {"lr_scales",
        scales_json({{"layers", 0.8}, {"embed", 0.25}, {"layers.1", 0.5}, {"cls", 0.25}})}});
  const auto opt = make_optimizer(config, named);
  ASSERT_EQ(opt->param_groups().size(), 7u);
  expect_group(*opt, 0, named, {"head.weight"}, 0.01, 0.05);
  expect_group(*opt, 1, named, {"head.bias"}, 0.01, 0.0);
  expect_group(*opt, 2, named, {"cls", "embed.weight"}, 0.01 * 0.25, 0.05);
  expect_group(*opt, 3, named, {"layers.1.weight"}, 0.01 * 0.5, 0.05);
  expect_group(*opt, 4, named, {"layers.1.bias"}, 0.01 * 0.5, 0.0);
  expect_group(*opt, 5, named, {"layers.1.log_dt"}, 0.004 * 0.5, 0.0);   // min(ssm_lr, lr) * 0.5
  expect_group(*opt, 6, named, {"layers.10.weight"}, 0.01 * 0.8, 0.05);  // not under "layers.1"
  EXPECT_DOUBLE_EQ(learning_rate(*opt), 0.01);
  EXPECT_EQ(OptimizerConfig::from_json(config.to_json()).lr_scales, config.lr_scales);
}

// Checkpoints rely on the group order: no lr_scales, an empty list, or only scales of 1 give the
// groups of a config without the key.
TEST(Optimizers, WithoutLrScalesTheGroupsAreThoseOfBefore) {
  const auto named = zero_parameters({"layer0.weight", "layer0.log_dt", "layer0.bias"});
  const json base = {{"name", "adamw"},
                     {"lr", 0.01},
                     {"weight_decay", 0.1},
                     {"no_weight_decay", {"bias"}},
                     {"ssm_parameters", {"log_dt"}}};
  for (const json& scales : {json(), json::array(), scales_json({{"layer0", 1.0}})}) {
    json config = base;
    if (!scales.is_null()) config["lr_scales"] = scales;
    const auto opt = make_optimizer(OptimizerConfig::from_json(config), named);
    ASSERT_EQ(opt->param_groups().size(), 3u) << scales;
    expect_group(*opt, 0, named, {"layer0.weight"}, 0.01, 0.1);
    expect_group(*opt, 1, named, {"layer0.bias"}, 0.01, 0.0);
    expect_group(*opt, 2, named, {"layer0.log_dt"}, 0.01, 0.0);
  }
}

TEST(Optimizers, BadLrScalesNameTheKey) {
  const auto named = zero_parameters({"a.weight", "b.weight"});
  auto error_of = [&](const json& scales) -> std::string {
    try {
      make_optimizer(OptimizerConfig::from_json({{"lr_scales", scales}}), named);
    } catch (const ssmkit::InputError& e) {
      return e.what();
    }
    return "";
  };
  const struct {
    json scales;
    std::string expected;
  } cases[] = {
      {scales_json({{"a", 0.0}}), "'a' must be > 0, got 0"},
      {scales_json({{"a", -0.5}}), "'a' must be > 0, got -0.5"},
      {scales_json({{"a", 0.5}, {"b", 0.25}}), "every parameter is scaled; leave at least one"},
      {scales_json({{"a", 0.5}, {"a", 0.25}}), "'a' is given twice"},
      {scales_json({{"", 0.5}}), "empty"},
      {scales_json({{"c", 0.5}}), "'c' names no parameter of the model (e.g. 'a.weight')"},
      {scales_json({{"a.w", 0.5}}), "'a.w' names no parameter"},  // prefixes end at dots
      {json::parse(R"([["a"]])"), "expected a list of [name, number] pairs, got the item [\"a\"]"},
      {json::parse(R"([["a", "fast"]])"), "expected a list of [name, number] pairs"},
      {json::parse(R"({"a": 0.5})"), "expected a list of [name, number] pairs"},
  };
  for (const auto& c : cases) {
    const std::string message = error_of(c.scales);
    EXPECT_NE(message.find("optimizer.lr_scales: "), std::string::npos)
        << c.scales << ": " << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.scales << ": " << message;
  }
}

// One float64 parameter per scale; a reference AdamW per parameter at lr * scale.
struct ScaledProblem {
  std::vector<std::string> names = {"embed.weight", "layers.0.weight", "head.weight"};
  std::vector<double> scales = {0.25, 0.5, 1.0};
  std::vector<torch::Tensor> weights;
  torch::OrderedDict<std::string, at::Tensor> named;
  ScaledProblem() {
    torch::manual_seed(3);
    for (const auto& name : names) {
      weights.push_back(torch::randn({4}, torch::kFloat64).requires_grad_());
      named.insert(name, weights.back());
    }
  }
  // Gradient of parameter i at step t: differs per parameter and per step.
  void backward(int t) {
    for (size_t i = 0; i < weights.size(); ++i) {
      const auto target = torch::full({4}, 0.3 * static_cast<double>(t + 1 + i), torch::kFloat64);
      (0.5 * (weights[i] - target).pow(2) * static_cast<double>(i + 1)).sum().backward();
    }
  }
};

TEST(Optimizers, AdamWStepWithLrScalesIsAnAdamWStepAtTheScaledRate) {
  const double lr = 0.05, wd = 0.1;
  const json config = {{"name", "adamw"},
                       {"lr", lr},
                       {"weight_decay", wd},
                       {"lr_scales", scales_json({{"embed", 0.25}, {"layers.0", 0.5}})}};
  ScaledProblem reference, plain, fused;
  std::vector<std::unique_ptr<torch::optim::AdamW>> references;
  for (size_t i = 0; i < reference.weights.size(); ++i) {
    references.push_back(std::make_unique<torch::optim::AdamW>(
        std::vector<at::Tensor>{reference.weights[i]},
        torch::optim::AdamWOptions(lr * reference.scales[i]).weight_decay(wd)));
  }
  auto plain_opt = make_optimizer(OptimizerConfig::from_json(config), plain.named);
  auto fused_opt = make_optimizer(OptimizerConfig::from_json(config), fused.named);
  ASSERT_EQ(plain_opt->param_groups().size(), 3u);
  ASSERT_EQ(FusedOptimizer::unsupported_reason(*fused_opt), "");
  FusedOptimizer flat(*fused_opt);
  for (int t = 0; t < kSteps; ++t) {
    for (auto& r : references)
      r->zero_grad();
    reference.backward(t);
    for (auto& r : references)
      r->step();
    plain_opt->zero_grad();
    plain.backward(t);
    plain_opt->step();
    flat.zero_grad();
    fused.backward(t);
    flat.step();
    for (size_t i = 0; i < reference.weights.size(); ++i) {
      EXPECT_TRUE(torch::allclose(plain.weights[i], reference.weights[i], 1e-14, 0))
          << "plain, step " << t << ", " << reference.names[i];
      EXPECT_TRUE(torch::allclose(fused.weights[i], reference.weights[i], 1e-14, 0))
          << "fused, step " << t << ", " << reference.names[i];
    }
  }
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
