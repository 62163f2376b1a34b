// Flags <-> configuration: precedence of file, named flags, dotted keys, appends and --set;
// Lightning-style spellings (--a.b=value, True/False, +=); --print_config round trip; errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "ssmkit/cli/config_flags.h"
#include "ssmkit/io/config.h"
#include "ssmkit/io/error.h"
#include "test_temp_dir.h"

namespace ssmkit::cli {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

json flag_defaults() {
  return json::parse(R"({
    "seed": 1,
    "optimizer": {"name": "adamw", "lr": 0.001, "betas": [0.9, 0.999], "nesterov": false},
    "trainer": {"callbacks": ["progress"]}
  })");
}

const std::vector<ConfigFlag> kFlags = {{"lr", "optimizer.lr", "learning rate"},
                                        {"nesterov", "optimizer.nesterov", "Nesterov momentum"}};

// Parses `words` (after the program name) with the flags above.
ParsedArguments parse(cxxopts::Options& options, const std::vector<std::string>& words) {
  add_config_flags(options, kFlags, flag_defaults());
  std::vector<const char*> argv = {"prog"};
  for (const auto& w : words)
    argv.push_back(w.c_str());
  return parse_arguments(options, static_cast<int>(argv.size()), argv.data());
}

json resolve(const std::vector<std::string>& words) {
  cxxopts::Options options("prog");
  return resolve_config(parse(options, words), kFlags, flag_defaults());
}

TEST(ConfigFlags, PrecedenceIsDefaultsThenFileThenFlagsThenSet) {
  testing::TempDir dir;
  const auto file = dir.file("c.json");
  std::ofstream(file) << R"({"seed": 5, "optimizer": {"lr": 0.5, "name": "sgd"}})";
  const json config = resolve({"--config", file, "--lr", "0.25", "--nesterov", "--set", "seed=9",
                               "--set", "optimizer.betas=0.1,0.2"});
  EXPECT_EQ(config["optimizer"]["name"], "sgd");                    // file
  EXPECT_DOUBLE_EQ(config["optimizer"]["lr"].get<double>(), 0.25);  // flag beats file
  EXPECT_EQ(config["optimizer"]["nesterov"], true);                 // bare boolean flag
  EXPECT_EQ(config["seed"], 9);                                     // --set beats file
  EXPECT_EQ(config["optimizer"]["betas"], json::parse("[0.1, 0.2]"));
}

TEST(ConfigFlags, EveryKeyIsAFlagByItsDottedNameInBothSpellings) {
  const json config = resolve({"--optimizer.name", "sgd", "--optimizer.lr=0.5",
                               "--optimizer.nesterov", "True", "--seed=7"});
  EXPECT_EQ(config["optimizer"]["name"], "sgd");
  EXPECT_DOUBLE_EQ(config["optimizer"]["lr"].get<double>(), 0.5);
  EXPECT_EQ(config["optimizer"]["nesterov"], true);
  EXPECT_EQ(config["seed"], 7);
  EXPECT_EQ(resolve({"--optimizer.nesterov=False"})["optimizer"]["nesterov"], false);
}

TEST(ConfigFlags, PlusEqualsAppendsToAList) {
  const json config = resolve({"--trainer.callbacks+=LearningRateMonitor", "--lr", "0.1"});
  EXPECT_EQ(config["trainer"]["callbacks"], json::parse(R"(["progress", "LearningRateMonitor"])"));
  EXPECT_DOUBLE_EQ(config["optimizer"]["lr"].get<double>(), 0.1);
}

TEST(ConfigFlags, PrintConfigWritesJsonThatConfigReadsBack) {
  testing::TempDir dir;
  cxxopts::Options options("prog");
  const ParsedArguments args = parse(options, {"--lr", "0.3", "--print_config"});
  const json config = resolve_config(args, kFlags, flag_defaults());
  std::ostringstream out;
  ASSERT_TRUE(print_config_if_asked(args, config, out));
  const auto file = dir.write("printed.json", out.str());
  EXPECT_EQ(resolve({"--config", file}), config);
  cxxopts::Options quiet("prog");
  EXPECT_FALSE(print_config_if_asked(parse(quiet, {}), config, out));
}

TEST(ConfigFlags, BadValuesUnknownFlagsAndStrayWordsAreOneClearError) {
  EXPECT_THAT(
      [] {
        resolve({"--seed", "many"});
      },
      ThrowsMessage<InputError>(HasSubstr("--seed seed: expected an integer, got 'many'")));
  EXPECT_THAT([] { resolve({"--seed+=3"}); },
              ThrowsMessage<InputError>(HasSubstr("'seed' is not a list")));
  EXPECT_THAT([] { resolve({"stray"}); },
              ThrowsMessage<InputError>(HasSubstr("unexpected argument 'stray'")));
  // A word after a boolean flag was meant as its value: the flag is named.
  EXPECT_THAT(
      [] {
        resolve({"--optimizer.nesterov", "maybe"});
      },
      ThrowsMessage<InputError>(HasSubstr("--optimizer.nesterov: expected true or false")));
  EXPECT_THROW(resolve({"--no_such_flag", "1"}), cxxopts::exceptions::exception);
}

TEST(ConfigFlags, FlagForUnknownKeyIsAProgrammingError) {
  cxxopts::Options options("prog");
  EXPECT_THROW(add_config_flags(options, {{"x", "optimizer.nope", ""}}, flag_defaults()),
               InputError);
}

}  // namespace
}  // namespace ssmkit::cli
