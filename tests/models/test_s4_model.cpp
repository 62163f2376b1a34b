// S4Model: built by name from JSON, shapes, the residual blocks against a hand-written composition
// of its parts (post-norm and pre-norm), the SSM parameter names the optimizer groups, bad config.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/models/s4_model.h"
#include "test_helpers.h"

namespace {

using namespace ssmkit::models;

// example.py's forward, written out from the model's registered children (evaluation mode).
at::Tensor reference_forward(Model& model, const at::Tensor& x, int64_t n_layers, bool prenorm) {
  auto children = model.named_children();
  auto linear = [&](const std::string& name) { return children[name]->as<torch::nn::Linear>(); };
  at::Tensor h = linear("encoder")->forward(x);
  for (int64_t i = 0; i < n_layers; ++i) {
    auto* s4d = children["layer" + std::to_string(i)]->as<ssmkit::nn::S4D>();
    auto* norm = children["norm" + std::to_string(i)]->as<torch::nn::LayerNorm>();
    at::Tensor z = prenorm ? norm->forward(h) : h;
    h = s4d->forward(z) + h;
    if (!prenorm) h = norm->forward(h);
  }
  return linear("decoder")->forward(h.mean(1));
}

TEST(S4Model, BuiltByNameMatchesExampleForwardInBothNormOrders) {
  for (const bool prenorm : {false, true}) {
    const nlohmann::json config = {{"d_input", 3},  {"d_output", 5}, {"d_model", 8},
                                   {"n_layers", 2}, {"d_state", 4},  {"prenorm", prenorm}};
    const std::shared_ptr<Model> model = create_model("S4Model", config);
    EXPECT_EQ(model->type_name(), "S4Model");
    EXPECT_EQ(model->config()["prenorm"], prenorm);
    model->to(torch::kDouble);
    model->eval();
    const at::Tensor x = torch::randn({4, 17, 3}, torch::kDouble);
    const at::Tensor y = model->forward(x);
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{4, 5}));
    EXPECT_LT(ssmkit::testing::relative_error(y, reference_forward(*model, x, 2, prenorm)), 1e-12);
  }
}

TEST(S4Model, SsmParameterNamesMatchTheS4DParameters) {
  S4Model model(S4ModelOptions{});
  int64_t matched = 0;
  for (const auto& p : model->named_parameters()) {
    for (const std::string& name : S4ModelImpl::ssm_parameter_names()) {
      const std::string suffix = "." + name;
      if (p.key().size() > suffix.size() &&
          p.key().compare(p.key().size() - suffix.size(), suffix.size(), suffix) == 0) {
        ++matched;
      }
    }
  }
  EXPECT_EQ(matched, 3 * 4);  // three per S4D, four layers by default
}

TEST(S4Model, BadConfigNamesTheKey) {
  try {
    create_model("S4Model", {{"d_model", 0}});
    ADD_FAILURE() << "d_model 0 accepted";
  } catch (const ssmkit::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'d_model'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(create_model("S4Model", {{"n_layer", 2}}), ssmkit::InputError);
  S4Model model(S4ModelOptions{});
  EXPECT_THROW(model->forward(torch::randn({2, 10, 3})), c10::Error);  // d_input is 1
}

}  // namespace
