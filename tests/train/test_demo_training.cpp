// The demo: two short epochs on the shipped toy data lower the loss and write results.json; bad
// input gives one clear error (and exit status 1 from the program, when it is built).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include <ATen/Parallel.h>

#include "ssmkit/io/error.h"
#include "ssmkit/train/demo_training.h"
#include "test_temp_dir.h"

namespace {

using ssmkit::train::DemoConfig;

const std::string kToyData = std::string(SSMKIT_SOURCE_DIR) + "/data/toy_sequences.csv";
const std::string kDemoBinary = std::string(SSMKIT_BINARY_DIR) + "/apps/demo_training";

// The demo's tensors are tiny: one thread is as fast, and it avoids OpenMP threads spinning against
// each other when ctest runs suites in parallel on few cores.
class OneThread {
 public:
  OneThread() : previous_(at::get_num_threads()) { at::set_num_threads(1); }
  ~OneThread() { at::set_num_threads(previous_); }

 private:
  int previous_;
};

TEST(DemoTraining, TwoEpochsLowerTheLossAndWriteResults) {
  OneThread one_thread;
  ssmkit::testing::TempDir dir;
  DemoConfig config;
  config.data_path = kToyData;
  config.output_dir = (dir.path() / "run").string();
  config.epochs = 2;
  config.d_model = 16;  // small and quick; the shipped defaults learn the same way
  config.n_layers = 1;
  int calls = 0;
  auto result = ssmkit::train::run_demo_training(config, [&](const auto&) { ++calls; });
  ASSERT_EQ(result.epochs.size(), 3u);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(result.sequence_length, 32);
  EXPECT_EQ(result.train_sequences + result.val_sequences, 512);
  const auto& e = result.epochs;
  EXPECT_LT(e[1].val_loss, e[0].val_loss);
  EXPECT_LT(e[2].val_loss, e[1].val_loss);
  EXPECT_LT(e[2].train_loss, e[1].train_loss);

  std::ifstream in(result.results_path);
  ASSERT_TRUE(in) << result.results_path;
  nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["epochs"].size(), 3u);
  EXPECT_DOUBLE_EQ(j["final_val_loss"].get<double>(), e[2].val_loss);
  EXPECT_EQ(j["model"]["backbone"]["mamba"]["d_model"], 16);
  // Only results.json is left: the atomic write's temporary file is gone.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(config.output_dir),
                          std::filesystem::directory_iterator()),
            1);
}

std::string input_error_of(const DemoConfig& config) {
  try {
    ssmkit::train::run_demo_training(config);
  } catch (const ssmkit::InputError& e) {
    return e.what();
  }
  return "";
}

TEST(DemoTraining, BadConfigAndDataAreInputErrors) {
  ssmkit::testing::TempDir dir;
  DemoConfig config;
  config.output_dir = (dir.path() / "run").string();
  config.data_path = (dir.path() / "absent.csv").string();
  EXPECT_NE(input_error_of(config).find("cannot open data file"), std::string::npos);
  config.data_path = dir.write("bad.csv", "a,b\n1,2\n3,oops\n");
  EXPECT_NE(input_error_of(config).find("bad.csv:3: column 2 ('b') holds 'oops'"),
            std::string::npos);
  config.data_path = dir.write("few.csv", "a,b\n1,2\n");
  EXPECT_NE(input_error_of(config).find("too few to hold out a validation part"),
            std::string::npos);
  config.data_path = kToyData;
  config.epochs = 0;
  EXPECT_NE(input_error_of(config).find("--epochs must be >= 1, got 0"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(config.output_dir));
}

// Runs the demo program with `args`, returns its exit status and stderr.
std::pair<int, std::string> run_binary(const ssmkit::testing::TempDir& dir,
                                       const std::string& args) {
  const std::string err = (dir.path() / "stderr.txt").string();
  const int status = std::system((kDemoBinary + " " + args + " >/dev/null 2>" + err).c_str());
  std::ifstream in(err);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

TEST(DemoTrainingProgram, BadInputExitsOneWithOneMessage) {
  if (!std::filesystem::exists(kDemoBinary)) {
    GTEST_SKIP() << kDemoBinary << " is not built (cmake --build build --target demo_training)";
  }
  ssmkit::testing::TempDir dir;
  auto [status, text] = run_binary(dir, "--no_such_flag 3");
  EXPECT_EQ(status, 1);
  EXPECT_EQ(text.rfind("demo_training: error: Option ", 0), 0u) << text;
  EXPECT_NE(text.find("no_such_flag"), std::string::npos) << text;
  EXPECT_NE(text.find("does not exist"), std::string::npos) << text;
  std::tie(status, text) = run_binary(dir, "--data " + dir.write("bad.csv", "a,b\n1\n") +
                                               " --output_dir " + (dir.path() / "out").string());
  EXPECT_EQ(status, 1);
  EXPECT_NE(text.find("bad.csv:2: expected 2 values"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  std::tie(status, text) = run_binary(dir, "--epochs 2");
  EXPECT_EQ(status, 1);
  EXPECT_NE(text.find("--data is required"), std::string::npos) << text;
}

}  // namespace
