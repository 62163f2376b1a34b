// Config merging, dotted overrides, list appends, typed sections and the config table.
#include <gtest/gtest.h>

#include <fstream>

#include "ssmkit/io/config.h"
#include "ssmkit/io/error.h"
#include "train/train_fixtures.h"

namespace {

using nlohmann::json;
using ssmkit::InputError;
using namespace ssmkit::io;

json defaults() {
  return json::parse(R"({
    "seed": 1,
    "optimizer": {"name": "adamw", "lr": 0.001, "betas": [0.9, 0.999], "nesterov": false},
    "data": {"path": "", "columns": ["a", "b"]},
    "resume": null
  })");
}

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, MergeOverridesNestedValues) {
  json config = defaults();
  merge_config(config, json::parse(R"({"optimizer": {"lr": 0.01}, "seed": 7})"), "f.json");
  EXPECT_DOUBLE_EQ(config["optimizer"]["lr"].get<double>(), 0.01);
  EXPECT_EQ(config["optimizer"]["name"], "adamw");  // untouched sibling
  EXPECT_EQ(config["seed"], 7);
}

TEST(Config, MergeRejectsUnknownKeyWithSuggestion) {
  json config = defaults();
  const auto msg = error_of(
      [&] { merge_config(config, json::parse(R"({"optimizer": {"lrr": 1}})"), "f.json"); });
  EXPECT_NE(msg.find("f.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'optimizer.lrr'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'lr'"), std::string::npos) << msg;
}

TEST(Config, MergeRejectsWrongTypes) {
  json config = defaults();
  EXPECT_NE(error_of([&] {
              merge_config(config, json::parse(R"({"seed": 1.5})"), "f");
            }).find("'seed' expects an integer"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              merge_config(config, json::parse(R"({"optimizer": 3})"), "f");
            }).find("is a section"),
            std::string::npos);
  // An integer may stand for a float, anything for null.
  merge_config(config, json::parse(R"({"optimizer": {"lr": 1}, "resume": "x"})"), "f");
  EXPECT_EQ(config["resume"], "x");
}

TEST(Config, SetValueParsesAsTheReplacedType) {
  json config = defaults();
  set_config_value(config, "optimizer.lr", "3e-4", "--lr");
  set_config_value(config, "seed", "42", "--seed");
  set_config_value(config, "optimizer.nesterov", "yes", "--nesterov");
  set_config_value(config, "data.path", "/tmp/x.csv", "--data");
  set_config_value(config, "optimizer.betas", "0.8,0.99", "--betas");
  set_config_value(config, "data.columns", R"(["x"])", "--columns");
  set_config_value(config, "resume", "runs/a", "--resume");
  EXPECT_DOUBLE_EQ(config["optimizer"]["lr"].get<double>(), 3e-4);
  EXPECT_EQ(config["seed"], 42);
  EXPECT_EQ(config["optimizer"]["nesterov"], true);
  EXPECT_EQ(config["data"]["path"], "/tmp/x.csv");
  EXPECT_EQ(config["optimizer"]["betas"], json::parse("[0.8, 0.99]"));
  EXPECT_EQ(config["data"]["columns"], json::parse(R"(["x"])"));
  EXPECT_EQ(config["resume"], "runs/a");
}

TEST(Config, SetValueErrorsNameFlagKeyAndExpectation) {
  json config = defaults();
  auto msg = error_of([&] { set_config_value(config, "seed", "ten", "--seed"); });
  EXPECT_NE(msg.find("--seed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected an integer, got 'ten'"), std::string::npos) << msg;
  msg = error_of([&] { set_config_value(config, "optimzer.lr", "1", "--set"); });
  EXPECT_NE(msg.find("did you mean 'optimizer'"), std::string::npos) << msg;
  msg = error_of([&] { set_config_value(config, "optimizer", "1", "--set"); });
  EXPECT_NE(msg.find("is a section"), std::string::npos) << msg;
  msg = error_of([&] { set_config_value(config, "optimizer.betas", "0.9,fast", "--set"); });
  EXPECT_NE(msg.find("'fast'"), std::string::npos) << msg;
}

TEST(Config, AssignmentsRejoinListsSplitAtCommas) {
  json config = defaults();
  // What a parser that splits vector values at commas hands over for --set optimizer.betas=0.5,0.6
  apply_config_assignments(config, {"optimizer.betas=0.5", "0.6", "seed=3"}, "--set");
  EXPECT_EQ(config["optimizer"]["betas"], json::parse("[0.5, 0.6]"));
  EXPECT_EQ(config["seed"], 3);
  EXPECT_NE(
      error_of([&] { apply_config_assignments(config, {"seed"}, "--set"); }).find("KEY=VALUE"),
      std::string::npos);
}

TEST(Config, ReadFileReportsLineAndColumn) {
  ssmkit::testing::TempDir dir;
  const auto path = dir.file("bad.json");
  std::ofstream(path) << "{\n  \"seed\": 1,\n  \"lr\": ,\n}\n";
  const auto msg = error_of([&] { read_config_file(path); });
  EXPECT_NE(msg.find(path + ":3:"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { read_config_file(dir.file("missing.json")); }).find("cannot open"),
            std::string::npos);
}

TEST(Config, TableListsEveryLeaf) {
  const auto table = format_config_table(defaults());
  EXPECT_NE(table.find("optimizer.lr"), std::string::npos) << table;
  EXPECT_NE(table.find("data.columns"), std::string::npos) << table;
  EXPECT_NE(table.find("adamw"), std::string::npos) << table;
  EXPECT_EQ(flatten_config(defaults()).size(), 8u);
}

TEST(Config, SectionReadsTypedValuesAndRejectsUnknownKeys) {
  ConfigSection s(json::parse(R"({"lr": 0.1, "steps": 3, "mode": "max", "extra": 1})"), "opt");
  EXPECT_DOUBLE_EQ(s.number("lr", 0), 0.1);
  EXPECT_EQ(s.integer("steps", 0), 3);
  EXPECT_EQ(s.choice("mode", "min", {"min", "max"}), "max");
  EXPECT_EQ(s.boolean("absent", true), true);
  const auto msg = error_of([&] { s.finish(); });
  EXPECT_NE(msg.find("opt: unknown key 'extra'"), std::string::npos) << msg;

  ConfigSection bad(json::parse(R"({"lr": "fast", "mode": "mx"})"), "opt");
  EXPECT_NE(error_of([&] { bad.number("lr", 0); }).find("opt.lr: expected a number, got \"fast\""),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              bad.choice("mode", "min", {"min", "max"});
            }).find("did you mean 'max'"),
            std::string::npos);
}

TEST(Config, SectionReadsNamedNumbersInOrderAndNamesAMalformedItem) {
  ConfigSection s(json::parse(R"({"scales": [["b", 0.5], ["a", 2]]})"), "opt");
  const std::vector<std::pair<std::string, double>> expected = {{"b", 0.5}, {"a", 2.0}};
  EXPECT_EQ(s.named_numbers("scales", {}), expected);
  EXPECT_EQ(s.named_numbers("absent", {{"x", 1.0}}).size(), 1u);
  for (const char* text :
       {R"({"scales": {"a": 1}})", R"({"scales": [["a"]]})", R"({"scales": [["a", "big"]]})",
        R"({"scales": [[1, 0.5]]})", R"({"scales": [["a", 1, 2]]})"}) {
    ConfigSection bad(json::parse(text), "opt");
    const auto msg = error_of([&] { bad.named_numbers("scales", {}); });
    EXPECT_NE(msg.find("opt.scales: expected a list of [name, number] pairs"), std::string::npos)
        << text << ": " << msg;
  }
}

TEST(ConfigValues, AppendAddsItemsToAListAndRefusesOtherValues) {
  json config = defaults();
  append_config_value(config, "data.columns", "c", "--data.columns");
  append_config_value(config, "data.columns", "d,e", "--data.columns");
  EXPECT_EQ(config["data"]["columns"], json::parse(R"(["a", "b", "c", "d", "e"])"));
  EXPECT_NE(error_of([&] {
              append_config_value(config, "seed", "3", "--seed");
            }).find("'seed' is not a list"),
            std::string::npos);
}

}  // namespace
