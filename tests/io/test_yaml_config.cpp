// YAML configs: Lightning's config.yaml reads into the JSON that JSON configs give (plain scalars
// typed, quoted ones kept as text, Python's True/False), to_yaml round-trips any config, syntax
// errors name the file, line and column, and read_config_file picks YAML by the file name.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ssmkit/io/config.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/yaml_config.h"
#include "test_temp_dir.h"

namespace ssmkit::io {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// The shape of the config.yaml that LightningCLI writes.
constexpr const char* kLightningYaml = R"(# lightning.pytorch==2.6.0
seed_everything: 2021
trainer:
  accelerator: auto
  max_epochs: 1000
  callbacks:
  - class_path: lightning.pytorch.callbacks.LearningRateMonitor
    init_args:
      logging_interval: step
      log_momentum: false
  default_root_dir: null
  log_every_n_steps: 1
model:
  class_path: network.ti_mae.TiMAEForPretraining
  init_args:
    lr: 0.001
    cls_embed: True
    max_len: ~
    mask_ratio: 0.75
    layer_norm_eps: 1.0e-05
    name: '123'
ckpt_path: null
)";

TEST(YamlConfig, ReadsLightningsConfigYamlWithTypedScalars) {
  const json config = parse_yaml_config(kLightningYaml, "config.yaml");
  EXPECT_EQ(config["seed_everything"], 2021);
  EXPECT_EQ(config["trainer"]["max_epochs"], 1000);
  EXPECT_TRUE(config["trainer"]["default_root_dir"].is_null());
  EXPECT_EQ(config["trainer"]["callbacks"][0]["init_args"]["logging_interval"], "step");
  EXPECT_EQ(config["trainer"]["callbacks"][0]["init_args"]["log_momentum"], false);
  const json& args = config["model"]["init_args"];
  EXPECT_DOUBLE_EQ(args["lr"].get<double>(), 0.001);
  EXPECT_EQ(args["cls_embed"], true);
  EXPECT_TRUE(args["max_len"].is_null());
  EXPECT_DOUBLE_EQ(args["layer_norm_eps"].get<double>(), 1e-5);
  EXPECT_EQ(args["name"], "123") << "a quoted scalar stays text";
  EXPECT_TRUE(config["ckpt_path"].is_null());
}

TEST(YamlConfig, WrittenYamlReadsBackToTheSameJson) {
  const json config = {{"a", 1},
                       {"b", 0.1},
                       {"c", 1e-5},
                       {"d", "text"},
                       {"e", "true"},
                       {"f", "42"},
                       {"g", nullptr},
                       {"h", json::array({1, "x", false})},
                       {"i", {{"nested", {{"deep", 2.5}}}, {"empty", json::array()}}},
                       {"j", ""},
                       {"k", 3.0},
                       {"l", "epoch=9-step=70.ckpt"}};
  EXPECT_EQ(parse_yaml_config(to_yaml(config), "round trip"), config);
}

TEST(YamlConfig, SyntaxErrorsNameTheFileLineAndColumn) {
  EXPECT_THAT([] { parse_yaml_config("a: 1\nb: [1, 2\n", "bad.yaml"); },
              ThrowsMessage<InputError>(HasSubstr("bad.yaml:")));
  EXPECT_THAT(
      [] { parse_yaml_config("- 1\n- 2\n", "list.yaml"); },
      ThrowsMessage<InputError>(HasSubstr("list.yaml: a config file must hold a YAML mapping")));
}

TEST(YamlConfig, ReadConfigFileTakesYamlByItsName) {
  const testing::TempDir dir;
  EXPECT_TRUE(is_yaml_path("x/config.YAML"));
  EXPECT_TRUE(is_yaml_path("hparams.yml"));
  EXPECT_FALSE(is_yaml_path("config.json"));
  const json config = read_config_file(dir.write("c.yaml", "data:\n  batch_size: 64\n"));
  EXPECT_EQ(config["data"]["batch_size"], 64);
}

}  // namespace
}  // namespace ssmkit::io
