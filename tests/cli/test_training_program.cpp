// The shared program wiring: flags -> configuration -> session, then a resume that rebuilds the
// model from the checkpoint's configuration while new flags still apply.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <fstream>

#include "ssmkit/cli/training_program.h"
#include "ssmkit/train/optimizer_factory.h"
#include "ssmkit/train/seed.h"
#include "train/train_fixtures.h"

namespace {

using nlohmann::json;
using namespace ssmkit::train;
using namespace ssmkit::cli;
using ssmkit::testing::TinyMlp;

json parse_flags(const std::vector<std::string>& args, const std::vector<ConfigFlag>& flags,
                 const json& defaults) {
  cxxopts::Options options("train_tiny");
  add_config_flags(options, flags, defaults);
  std::vector<const char*> argv = {"train_tiny"};
  for (const auto& a : args)
    argv.push_back(a.c_str());
  return resolve_training_config(
      parse_arguments(options, static_cast<int>(argv.size()), argv.data()), flags, defaults);
}

// A tiny training program: everything but the model and data comes from the shared wiring.
int64_t run_program(const std::vector<std::string>& args, json* resolved = nullptr) {
  json defaults = training_config_defaults();
  defaults["model"] = {{"hidden", 8}};
  auto flags = training_flags();
  flags.push_back({"hidden", "model.hidden", "hidden units"});
  const json config = parse_flags(args, flags, defaults);
  if (resolved != nullptr) *resolved = config;

  seed_everything(config["run"]["seed"].get<uint64_t>());
  TinyMlp net(ssmkit::testing::kFeatures, config["model"]["hidden"].get<int64_t>(), 1);
  auto model = wrap_module(net);
  const auto train_set = ssmkit::testing::regression_data(64, 1);
  const auto val_set = ssmkit::testing::regression_data(16, 2);
  auto train = ssmkit::testing::batches(train_set, 16, true, config["run"]["seed"].get<uint64_t>());
  auto val = ssmkit::testing::batches(val_set, 16, false);
  TrainingSession session(
      config, *model,
      [](const at::Tensor& o, const at::Tensor& t) { return torch::mse_loss(o, t); }, *train);
  session.trainer().fit(*train, val.get());
  return session.trainer().epoch();
}

TEST(TrainingProgram, FreshRunThenResumeWithMoreEpochs) {
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::warn);
  ssmkit::testing::TempDir dir;
  json first;
  EXPECT_EQ(run_program({"--output_dir", dir.path(), "--project_name", "p", "--epochs", "2",
                         "--hidden", "12", "--lradj", "type1", "--lr", "0.01", "--progress", "off"},
                        &first),
            2);
  EXPECT_EQ(first["model"]["hidden"], 12);
  const auto saved = json::parse(std::ifstream(dir.file("p/config.json")));
  EXPECT_EQ(saved["trainer"]["epochs"], 2);
  EXPECT_EQ(saved["scheduler"]["name"], "type1");

  // Only --resume and the new epoch count: the model size and schedule come from the checkpoint.
  json second;
  EXPECT_EQ(run_program({"--resume", dir.file("p"), "--epochs", "3"}, &second), 3);
  EXPECT_EQ(second["model"]["hidden"], 12);
  EXPECT_EQ(second["scheduler"]["name"], "type1");
  EXPECT_EQ(second["trainer"]["epochs"], 3);
  const auto log = json::parse(std::ifstream(dir.file("p/training_log.json")));
  ASSERT_EQ(log["epochs"].size(), 3u);
  EXPECT_DOUBLE_EQ(log["epochs"][2]["next_lr"].get<double>(), 0.01 * 0.25);  // type1 after epoch 3
  EXPECT_EQ(json::parse(std::ifstream(dir.file("p/config.json")))["trainer"]["epochs"], 3);
  spdlog::set_level(level);
}

TEST(TrainingProgram, DefaultsAreAcceptedByEveryFactory) {
  const json defaults = training_config_defaults();
  EXPECT_NO_THROW(OptimizerConfig::from_json(defaults["optimizer"]));
  EXPECT_NO_THROW(TrainerConfig::from_json(defaults["trainer"]));
  auto linear = torch::nn::Linear(2, 1);
  auto optimizer =
      make_optimizer(OptimizerConfig::from_json(defaults["optimizer"]), linear->named_parameters());
  for (const char* name : {"constant", "step", "cosine", "plateau", "type1", "type2", "type3"}) {
    json section = defaults["scheduler"];
    section["name"] = name;
    EXPECT_EQ(make_lr_scheduler(section, *optimizer, {10, 2})->name(), name);
  }
}

}  // namespace
