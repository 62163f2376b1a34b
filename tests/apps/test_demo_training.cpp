// demo_training, run as a user runs it: two short epochs on the shipped toy data lower the loss
// and write results.json; bad input gives one error line, exit status 1 and no output folder.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "apps/program_run.h"
#include "ssmkit/io/file_bytes.h"
#include "test_temp_dir.h"

namespace ssmkit {
namespace {

using testing::ProgramRun;
using testing::TempDir;

const std::string kToyData = std::string(SSMKIT_SOURCE_DIR) + "/data/toy_sequences.csv";

class DemoTrainingProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(testing::program_path("demo_training"))) {
      GTEST_SKIP() << "demo_training is not built (cmake --build build --target demo_training)";
    }
  }
  // One thread: the tensors are tiny, and threads would spin against the other suites of ctest.
  ProgramRun demo(const std::string& args) {
    return testing::run_command(dir_,
                                testing::program_path("demo_training") + " --threads 1 " + args);
  }
  TempDir dir_;
};

TEST_F(DemoTrainingProgram, TwoEpochsLowerTheLossAndWriteResults) {
  const std::string out = dir_.file("run");
  // Small and quick; the shipped defaults learn the same way.
  const ProgramRun run =
      demo("--data " + kToyData + " --output_dir " + out + " --epochs 2 --d_model 16 --n_layers 1");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("demo_training: next-value forecasting"), std::string::npos);
  const auto j = nlohmann::json::parse(io::read_file_bytes(out + "/results.json"));
  EXPECT_EQ(j["sequence_length"], 32);
  EXPECT_EQ(j["train_sequences"].get<int>() + j["val_sequences"].get<int>(), 512);
  const auto& e = j["epochs"];
  ASSERT_EQ(e.size(), 3u);
  EXPECT_LT(e[1]["val_loss"].get<double>(), e[0]["val_loss"].get<double>());
  EXPECT_LT(e[2]["val_loss"].get<double>(), e[1]["val_loss"].get<double>());
  EXPECT_LT(e[2]["train_loss"].get<double>(), e[1]["train_loss"].get<double>());
  EXPECT_DOUBLE_EQ(j["final_val_loss"].get<double>(), e[2]["val_loss"].get<double>());
  EXPECT_EQ(j["model"]["backbone"]["mamba"]["d_model"], 16);
  // Only results.json is left: the atomic write's temporary file is gone.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(out),
                          std::filesystem::directory_iterator()),
            1);
}

TEST_F(DemoTrainingProgram, BadInputExitsOneWithOneLineAndNoOutput) {
  const std::string out = dir_.file("out");
  const struct {
    std::string args;
    std::string expected;
  } cases[] = {
      {"--no_such_flag 3", "no_such_flag"},
      {"--task forecast --epochs 2", "--data is required"},
      {"--task nonsense", "--task: 'nonsense' is unknown, expected vision or forecast"},
      {"--data " + dir_.file("absent.csv") + " --output_dir " + out, "absent.csv: cannot open"},
      {"--data " + dir_.write("bad.csv", "a,b\n1,2\n3,oops\n") + " --output_dir " + out,
       "bad.csv line 3: column 2 ('b') holds 'oops'"},
      {"--data " + dir_.write("ragged.csv", "a,b\n1\n") + " --output_dir " + out,
       "ragged.csv line 2: 1 fields, expected 2"},
      {"--data " + dir_.write("few.csv", "a,b\n1,2\n") + " --output_dir " + out,
       "too few to hold out a validation part"},
      {"--data " + kToyData + " --output_dir " + out + " --epochs 0",
       "--epochs must be >= 1, got 0"},
  };
  for (const auto& c : cases) {
    const ProgramRun run = demo(c.args);
    EXPECT_EQ(run.exit_code, 1) << c.args;
    EXPECT_EQ(run.output.rfind("demo_training: ", 0), 0u) << run.output;
    EXPECT_NE(run.output.find(c.expected), std::string::npos) << run.output;
    EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1) << run.output;
    EXPECT_FALSE(std::filesystem::exists(out)) << c.args;
  }
}

TEST_F(DemoTrainingProgram, VisionDemoLossFallsQuickly) {
  // The default task: a tiny Vision Mamba on a slice of Fashion-MNIST (generated images where the
  // package is absent); one epoch here, to stay quick.
  const ProgramRun run = demo("--epochs 1");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("demo_training: OK, the loss falls"), std::string::npos) << run.output;
  const ProgramRun generated = demo("--epochs 1 --data_dir " + dir_.file("absent"));
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  EXPECT_NE(generated.output.find("generated 28x28 images"), std::string::npos);
}

}  // namespace
}  // namespace ssmkit
