// The model registry: built-in CMamba, rebuilding a model from its own config, unknown names,
// run-time registration.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/models/cmamba.h"
#include "ssmkit/models/registry.h"
#include "test_helpers.h"

namespace {

using namespace ssmkit::models;

const nlohmann::json kTinyCMamba = {
    {"seq_len", 16}, {"pred_len", 4}, {"enc_in", 2},  {"patch_len", 8}, {"stride", 4},
    {"d_model", 8},  {"n_layers", 1}, {"d_state", 4}, {"dt_rank", 0},   {"n_heads", 2}};

TEST(ModelRegistry, BuildsCMambaFromConfig) {
  ASSERT_TRUE(is_registered_model("CMamba"));
  const std::shared_ptr<Model> model = create_model("CMamba", kTinyCMamba);
  EXPECT_EQ(model->type_name(), "CMamba");
  EXPECT_EQ(model->config()["d_model"], 8);
  EXPECT_EQ(model->forward(torch::randn({3, 16, 2})).sizes(), (std::vector<int64_t>{3, 4, 2}));
}

TEST(ModelRegistry, ModelRebuiltFromItsConfigComputesTheSameWithTheSameWeights) {
  const std::shared_ptr<Model> a = create_model("CMamba", kTinyCMamba);
  const std::shared_ptr<Model> b = create_model(a->type_name(), a->config());
  {
    torch::NoGradGuard no_grad;
    auto source = a->named_parameters();
    for (auto& p : b->named_parameters())
      p.value().copy_(source[p.key()]);
    auto source_buffers = a->named_buffers();
    for (auto& p : b->named_buffers())
      p.value().copy_(source_buffers[p.key()]);
  }
  a->eval();
  b->eval();
  const at::Tensor x = torch::randn({2, 16, 2});
  EXPECT_TRUE(torch::equal(a->forward(x), b->forward(x)));
}

TEST(ModelRegistry, UnknownNameListsKnownModels) {
  try {
    create_model("CMambo", nlohmann::json::object());
    FAIL() << "expected an error";
  } catch (const ssmkit::InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'CMambo' is unknown"), std::string::npos) << msg;
    EXPECT_NE(msg.find("CMamba"), std::string::npos) << msg;
  }
  EXPECT_THROW(create_model("CMamba", {{"enc_in", 0}}), ssmkit::InputError);
}

TEST(ModelRegistry, RegistersModelsAtRunTime) {
  const std::string name = "TinyCMambaForRegistryTest";
  register_model(name, [](const nlohmann::json& config) -> std::shared_ptr<Model> {
    nlohmann::json merged = kTinyCMamba;
    merged.update(config);
    return std::make_shared<CMambaImpl>(cmamba_options_from_json(merged));
  });
  EXPECT_TRUE(is_registered_model(name));
  const auto names = registered_models();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(create_model(name, {{"pred_len", 6}})->forward(torch::randn({1, 16, 2})).size(1), 6);
  EXPECT_THROW(register_model(name, [](const nlohmann::json&) { return std::shared_ptr<Model>(); }),
               std::invalid_argument);
}

}  // namespace
