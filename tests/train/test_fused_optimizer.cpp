// FlatParameters and FusedOptimizer against LibTorch's own optimizers, in float64: the same
// updates step for step (Adam, AdamW, SGD with every option, two parameter groups, layer-wise
// rates), starting from scratch, continuing a plain optimizer's state, and handing the state back
// to a plain step.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>

#include "ssmkit/train/flat_parameters.h"
#include "ssmkit/train/fused_optimizer.h"
#include "ssmkit/train/optimizer_factory.h"

namespace {

using nlohmann::json;
using namespace ssmkit::train;

// Linear(5, 4) -> tanh -> Linear(4, 2), float64.
torch::nn::Sequential seeded_net() {
  torch::manual_seed(11);
  return torch::nn::Sequential(torch::nn::Linear(5, 4), torch::nn::Functional(torch::tanh),
                               torch::nn::Linear(4, 2));
}

struct Net {
  torch::nn::Sequential module = seeded_net();
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  explicit Net(const json& config) {
    module->to(torch::kFloat64);
    torch::OrderedDict<std::string, at::Tensor> named;
    for (const auto& item : module->named_parameters())
      named.insert(item.key(), item.value());
    optimizer = make_optimizer(OptimizerConfig::from_json(config), named);
  }
  // Forward and backward of a fixed batch `step` (inputs differ per step).
  void backward(int step) {
    torch::manual_seed(100 + step);
    const auto x = torch::randn({8, 5}, torch::kFloat64);
    const auto y = torch::randn({8, 2}, torch::kFloat64);
    torch::mse_loss(module->forward(x), y).backward();
  }
};

void expect_close(const Net& a, const Net& b, const std::string& where) {
  const auto pa = a.module->parameters();
  const auto pb = b.module->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(torch::allclose(pa[i], pb[i], 1e-13, 1e-14)) << where << ", parameter " << i;
  }
  const auto sa = optimizer_state_tensors(*a.optimizer);
  const auto sb = optimizer_state_tensors(*b.optimizer);
  ASSERT_EQ(sa.size(), sb.size()) << where;
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].first, sb[i].first);
    EXPECT_TRUE(torch::allclose(sa[i].second.to(torch::kFloat64), sb[i].second.to(torch::kFloat64),
                                1e-13, 1e-14))
        << where << ", " << sa[i].first;
  }
}

const json kConfigs[] = {
    {{"name", "adam"}, {"lr", 0.01}},
    {{"name", "adam"}, {"lr", 0.01}, {"weight_decay", 0.1}, {"amsgrad", true}},
    {{"name", "adamw"}, {"lr", 0.02}, {"weight_decay", 0.05}, {"no_weight_decay", {"bias"}}},
    {{"name", "adamw"}, {"lr", 0.02}, {"amsgrad", true}, {"betas", {0.8, 0.99}}},
    {{"name", "sgd"}, {"lr", 0.05}},
    {{"name", "sgd"}, {"lr", 0.05}, {"momentum", 0.9}, {"nesterov", true}},
    {{"name", "sgd"},
     {"lr", 0.05},
     {"momentum", 0.8},
     {"dampening", 0.3},
     {"weight_decay", 0.01},
     {"no_weight_decay", {"bias"}}},
    // Layer-wise rates: four groups (the second layer's, then the first's at 0.3 of the rate).
    {{"name", "adamw"},
     {"lr", 0.02},
     {"weight_decay", 0.05},
     {"no_weight_decay", {"bias"}},
     {"lr_scales", json::array({json::array({"0", 0.3})})}},
};

class FusedOptimizerTest : public ::testing::TestWithParam<json> {};

TEST_P(FusedOptimizerTest, StepsMatchThePlainOptimizer) {
  Net plain(GetParam());
  Net fused(GetParam());
  ASSERT_EQ(FusedOptimizer::unsupported_reason(*fused.optimizer), "");
  FusedOptimizer flat(*fused.optimizer);
  for (int step = 0; step < 6; ++step) {
    plain.optimizer->zero_grad();
    plain.backward(step);
    plain.optimizer->step();
    flat.zero_grad();
    fused.backward(step);
    flat.step();
    expect_close(plain, fused, "step " + std::to_string(step));
  }
  EXPECT_TRUE(flat.intact());
}

// A run that took plain steps (e.g. restored from a checkpoint) continues fused, then plain again.
TEST_P(FusedOptimizerTest, ContinuesAPlainStateAndHandsItBack) {
  Net plain(GetParam());
  Net mixed(GetParam());
  for (int step = 0; step < 7; ++step) {
    plain.optimizer->zero_grad();
    plain.backward(step);
    plain.optimizer->step();
  }
  for (int step = 0; step < 2; ++step) {
    mixed.optimizer->zero_grad();
    mixed.backward(step);
    mixed.optimizer->step();
  }
  {
    FusedOptimizer flat(*mixed.optimizer);
    for (int step = 2; step < 5; ++step) {
      flat.zero_grad();
      mixed.backward(step);
      flat.step();
    }
  }
  for (int step = 5; step < 7; ++step) {
    mixed.optimizer->zero_grad();
    mixed.backward(step);
    mixed.optimizer->step();
  }
  expect_close(plain, mixed, "after 7 steps");
}

INSTANTIATE_TEST_SUITE_P(Configs, FusedOptimizerTest, ::testing::ValuesIn(kConfigs));

TEST(FlatParameters, ParametersAndGradientsBecomeViewsOfTwoBuffers) {
  torch::manual_seed(0);
  torch::nn::Linear linear(3, 2);
  const auto before = linear->weight.detach().clone();
  linear->weight.mutable_grad() = torch::full({2, 3}, 0.5);
  FlatParameters flat({linear->weight, linear->bias});
  EXPECT_EQ(flat.values().numel(), 8);
  EXPECT_TRUE(torch::equal(linear->weight, before));
  EXPECT_TRUE(torch::equal(flat.view_of(flat.gradients(), 0), torch::full({2, 3}, 0.5)));
  EXPECT_TRUE(torch::equal(flat.view_of(flat.gradients(), 1), torch::zeros({2})));
  EXPECT_TRUE(flat.intact());

  flat.values().fill_(2.0);  // the module sees the buffer
  EXPECT_TRUE(torch::equal(linear->weight, torch::full({2, 3}, 2.0)));
  linear(torch::ones({4, 3})).sum().backward();  // accumulates into the gradient buffer
  EXPECT_TRUE(torch::allclose(flat.view_of(flat.gradients(), 1), torch::full({2}, 4.0)));
  EXPECT_NEAR(flat.gradient_norm().item<double>(), flat.gradients().norm().item<double>(), 1e-6);
  flat.zero_gradients();
  EXPECT_EQ(linear->bias.grad().abs().sum().item<double>(), 0.0);

  // Loading weights with set_() (as InputArchive::read does) breaks the aliasing.
  {
    torch::NoGradGuard no_grad;
    linear->weight.set_(torch::zeros({2, 3}));
  }
  EXPECT_FALSE(flat.intact());
}

// A step releases the gradients before backward and gathers them after it: the buffer then holds
// this backward's gradients (not added to the last step's), zeros for a parameter that got none,
// and every .grad() is its view again.
TEST(FlatParameters, ReleasedGradientsAreGatheredIntoTheBuffer) {
  torch::manual_seed(0);
  torch::nn::Linear linear(3, 2);
  at::Tensor unused = torch::ones({4}, torch::requires_grad());
  FlatParameters flat({linear->weight, unused, linear->bias});
  const at::Tensor x = torch::randn({5, 3});
  auto backward = [&] { linear(x).pow(2).sum().backward(); };

  // The gradients the same backward leaves in fresh tensors.
  torch::nn::Linear reference(3, 2);
  {
    torch::NoGradGuard no_grad;
    reference->weight.copy_(linear->weight);
    reference->bias.copy_(linear->bias);
  }
  reference(x).pow(2).sum().backward();

  flat.gradients().fill_(7.0);  // the last step's gradients, which must not be added to
  for (int step = 0; step < 2; ++step) {
    flat.release_gradients();
    EXPECT_FALSE(linear->weight.grad().defined());
    backward();
    flat.gather_gradients();
    EXPECT_TRUE(flat.intact()) << "step " << step;
    EXPECT_TRUE(torch::equal(linear->weight.grad(), reference->weight.grad())) << "step " << step;
    EXPECT_TRUE(torch::equal(linear->bias.grad(), reference->bias.grad())) << "step " << step;
    EXPECT_TRUE(torch::equal(unused.grad(), torch::zeros({4}))) << "step " << step;
    EXPECT_EQ(linear->bias.grad().data_ptr(), flat.address_in(flat.gradients(), 2));
  }

  // Gathering gradients that are already the buffer's views keeps them.
  const at::Tensor kept = flat.gradients().clone();
  flat.gather_gradients();
  EXPECT_TRUE(torch::equal(flat.gradients(), kept));
  EXPECT_TRUE(flat.intact());
}

// Saving packed parameters writes each one's own elements, not the whole shared buffer per
// parameter: a checkpoint stays the size of the model.
TEST(FlatParameters, SavedModulesStayTheirSize) {
  auto size_of = [](torch::nn::Sequential& net) {
    torch::serialize::OutputArchive archive;
    net->save(archive);
    std::ostringstream bytes;
    archive.save_to(bytes);
    return static_cast<double>(bytes.str().size());
  };
  torch::nn::Sequential plain(torch::nn::Linear(100, 100), torch::nn::Linear(100, 100),
                              torch::nn::Linear(100, 100));
  torch::nn::Sequential packed(torch::nn::Linear(100, 100), torch::nn::Linear(100, 100),
                               torch::nn::Linear(100, 100));
  FlatParameters flat(packed->parameters());
  EXPECT_LT(size_of(packed), 1.2 * size_of(plain));
}

TEST(FlatParameters, RejectsWhatCannotBePacked) {
  const auto a = torch::zeros({3}, torch::kFloat32);
  EXPECT_NE(FlatParameters::unsupported_reason({}), "");
  EXPECT_NE(
      FlatParameters::unsupported_reason({a, torch::zeros({2}, torch::kFloat64)}).find("dtypes"),
      std::string::npos);
  EXPECT_NE(FlatParameters::unsupported_reason({a, a}).find("twice"), std::string::npos);
  EXPECT_NE(FlatParameters::unsupported_reason({torch::zeros({2}, torch::kLong)}).find("floating"),
            std::string::npos);
  EXPECT_EQ(FlatParameters::unsupported_reason({a, torch::zeros({2, 2})}), "");
}

TEST(FusedOptimizer, RejectsOtherOptimizers) {
  torch::nn::Linear linear(2, 2);
  torch::optim::RMSprop rmsprop(linear->parameters(), torch::optim::RMSpropOptions(0.01));
  EXPECT_NE(FusedOptimizer::unsupported_reason(rmsprop).find("Adam, AdamW and SGD"),
            std::string::npos);
}

}  // namespace
