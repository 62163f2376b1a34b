// train_vision_mamba and evaluate_model, run as a user runs them, on generated data sets in the
// real file formats (Fashion-MNIST's IDX files, CIFAR-10's binary batches): the seed's output
// tree, exact resume, evaluate_model reproducing the trainer's test accuracy with parseable
// reports and PNGs of the expected size, and one error line with nothing written for bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "apps/program_run.h"
#include "models/cmamba_fixtures.h"
#include "report/png_reader.h"
#include "ssmkit/io/file_bytes.h"
#include "ssmkit/models/cmamba.h"
#include "ssmkit/train/checkpoint.h"
#include "ssmkit/train/trainable_model.h"
#include "test_temp_dir.h"

namespace ssmkit {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ProgramRun;
using testing::TempDir;

std::string big_endian(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

void write_binary(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Images whose label decides their brightness pattern, so a tiny model learns something.
void write_idx_split(const fs::path& folder, const std::string& prefix, int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string images = big_endian(2051) + big_endian(count) + big_endian(28) + big_endian(28);
  std::string labels = big_endian(2049) + big_endian(count);
  for (int i = 0; i < count; ++i) {
    const int label = static_cast<int>(rng() % 10);
    labels += static_cast<char>(label);
    for (int p = 0; p < 28 * 28; ++p) {
      const bool bright = (p / 28) / 3 == label;
      images += static_cast<char>(bright ? 200 + rng() % 50 : rng() % 60);
    }
  }
  write_binary((folder / (prefix + "-images-idx3-ubyte")).string(), images);
  write_binary((folder / (prefix + "-labels-idx1-ubyte")).string(), labels);
}

void write_cifar10(const fs::path& folder, int per_batch) {
  std::mt19937 rng(7);
  fs::create_directories(folder);
  const auto batch = [&](const std::string& name) {
    std::string bytes;
    for (int i = 0; i < per_batch; ++i) {
      bytes += static_cast<char>(rng() % 10);
      for (int p = 0; p < 3072; ++p)
        bytes += static_cast<char>(rng() % 256);
    }
    write_binary((folder / name).string(), bytes);
  };
  for (int b = 1; b <= 5; ++b)
    batch("data_batch_" + std::to_string(b) + ".bin");
  batch("test_batch.bin");
}

class VisionMambaPrograms : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* program : {"train_vision_mamba", "evaluate_model"}) {
      if (!fs::exists(testing::program_path(program))) GTEST_SKIP() << program << " is not built";
    }
    fashion_ = dir_.path() / "fashion";
    fs::create_directories(fashion_);
    write_idx_split(fashion_, "train", 320, 1);
    write_idx_split(fashion_, "t10k", 96, 2);
  }
  // Programs run in the temporary folder, where the seed's tree (logs/, checkpoints/,
  // tensorboard/) is written.
  ProgramRun program(const std::string& name, const std::string& args) {
    return testing::run_command(dir_, "cd " + dir_.path().string() + " && " +
                                          testing::program_path(name) + " --threads 1 " + args);
  }
  // A tiny model and short run of the shipped fashion_mnist config.
  std::string tiny(const std::string& experiment, int epochs) {
    return "--config fashion_mnist --data.data_dir " + fashion_.string() +
           " --model.size tiny --model.depth 1 --model.embed_dim 16 --model.patch_size 7"
           " --training.batch_size 32 --training.device cpu --training.warmup_epochs 1"
           " --logging.save_every 1 --logging.progress off --training.epochs " +
           std::to_string(epochs) + " --logging.experiment_name " + experiment;
  }
  json read_json(const fs::path& path) {
    return json::parse(io::read_file_bytes((dir_.path() / path).string()));
  }
  TempDir dir_;
  fs::path fashion_;
};

std::string test_line(const std::string& output) {
  std::smatch match;
  EXPECT_TRUE(std::regex_search(output, match, std::regex(R"(test_accuracy \S+ \(\d+ of \d+\))")))
      << output;
  return match.empty() ? "" : match[0].str();
}

TEST_F(VisionMambaPrograms, TrainWritesTheSeedTreeAndEvaluateReproducesTheTestAccuracy) {
  const ProgramRun train = program("train_vision_mamba", tiny("run", 2));
  ASSERT_EQ(train.exit_code, 0) << train.output;
  for (const char* file :
       {"logs/run/training_log.json", "logs/run/confusion_matrix.png",
        "logs/run/training_curves.png", "logs/run/config.json", "checkpoints/run/best_model.pth",
        "checkpoints/run/final_model.pth", "checkpoints/run/checkpoint_epoch_1.pth",
        "checkpoints/run/checkpoint_epoch_2.pth"}) {
    EXPECT_TRUE(fs::exists(dir_.path() / file)) << file;
  }
  ASSERT_TRUE(fs::is_directory(dir_.path() / "tensorboard/run"));
  EXPECT_FALSE(fs::is_empty(dir_.path() / "tensorboard/run"));
  const json log = read_json("logs/run/training_log.json");
  EXPECT_EQ(log["status"], "completed");
  // The resolved configuration is saved with the run, the shipped file's keys resolved.
  const json config = read_json("logs/run/config.json");
  EXPECT_EQ(config["vision_mamba"]["data"]["dataset"], "fashion_mnist");
  EXPECT_EQ(config["vision_mamba"]["model"]["embed_dim"], 16);

  const ProgramRun evaluate =
      program("evaluate_model", "--checkpoint checkpoints/run/best_model.pth --output_dir eval");
  ASSERT_EQ(evaluate.exit_code, 0) << evaluate.output;
  const json results = read_json("eval/evaluation_results.json");
  char expected[96];
  std::snprintf(expected, sizeof(expected), "test_accuracy %.4f (%lld of %lld)",
                results["accuracy"].get<double>(),
                static_cast<long long>(std::llround(results["accuracy"].get<double>() * 96)), 96LL);
  EXPECT_EQ(test_line(train.output), expected) << train.output;
  EXPECT_EQ(results["images"], 96);
  EXPECT_EQ(results["class_names"][0], "T-shirt/top");
  const json report = read_json("eval/classification_report.json");
  EXPECT_EQ(report["weighted avg"]["support"], 96);
  const std::string csv =
      io::read_file_bytes((dir_.path() / "eval/classification_report.csv").string());
  EXPECT_EQ(csv.rfind("class,precision,recall,f1-score,support\n", 0), 0u);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 13);  // header, 10 classes, 2 averages
  const std::string predictions =
      io::read_file_bytes((dir_.path() / "eval/predictions.csv").string());
  EXPECT_EQ(std::count(predictions.begin(), predictions.end(), '\n'), 97);
  for (const char* png : {"eval/confusion_matrix.png", "eval/confusion_matrix_normalized.png"}) {
    const testing::PngImage image = testing::read_png((dir_.path() / png).string());
    EXPECT_EQ(image.width, 1000u) << png;
    EXPECT_EQ(image.height, 1000u) << png;
    EXPECT_GT(image.distinct_colours(), 10u) << png;
  }
  const testing::PngImage samples =
      testing::read_png((dir_.path() / "eval/sample_predictions.png").string());
  EXPECT_EQ(samples.width, 1200u);
  EXPECT_EQ(samples.height, 1200u);
  EXPECT_GT(samples.count_near({214, 39, 40}, 10), 0u);  // a wrong prediction framed in red
}

TEST_F(VisionMambaPrograms, ResumedRunEqualsUninterruptedRun) {
  const ProgramRun whole = program("train_vision_mamba", tiny("whole", 2));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const ProgramRun first = program("train_vision_mamba", tiny("parts", 1));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const ProgramRun rest =
      program("train_vision_mamba",
              tiny("parts", 2) + " --resume checkpoints/parts/checkpoint_epoch_1.pth");
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_EQ(test_line(rest.output), test_line(whole.output));
  const json a = read_json("logs/whole/training_log.json");
  const json b = read_json("logs/parts/training_log.json");
  ASSERT_EQ(a["epochs"].size(), 2u);
  ASSERT_EQ(b["epochs"].size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_EQ(a["epochs"][e]["train_loss"], b["epochs"][e]["train_loss"]) << e;
    EXPECT_EQ(a["epochs"][e]["val_loss"], b["epochs"][e]["val_loss"]) << e;
  }
}

// Under ssmkit_run with two workers, half the batch each: the losses of one process with the
// whole batch (nothing random differs between the ranks: no augmentation, dropout or stochastic
// depth), and one output tree, rank 0's.
TEST_F(VisionMambaPrograms, TwoWorkersFollowOneProcessWithTwiceTheBatchAndWriteOneTree) {
  if (!fs::exists(testing::program_path("ssmkit_run"))) GTEST_SKIP() << "ssmkit_run is not built";
  const std::string deterministic =
      " --data.random_crop false --data.horizontal_flip false --model.drop_path 0"
      " --model.dropout 0";
  const ProgramRun one = program("train_vision_mamba", tiny("one", 2) + deterministic);  // batch 32
  ASSERT_EQ(one.exit_code, 0) << one.output;
  fs::create_directories(dir_.path() / "tmp");
  const ProgramRun two = testing::run_command(
      dir_, "cd " + dir_.path().string() + " && TMPDIR=" + (dir_.path() / "tmp").string() + " " +
                testing::program_path("ssmkit_run") +
                " --standalone --nproc_per_node 2 train_vision_mamba --threads 1 " +
                tiny("two", 2) + deterministic + " --training.batch_size 16");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  const json a = read_json("logs/one/training_log.json");
  const json b = read_json("logs/two/training_log.json");
  ASSERT_EQ(b["epochs"].size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    for (const char* key : {"train_loss", "val_loss"}) {
      const double x = a["epochs"][e][key].get<double>(), y = b["epochs"][e][key].get<double>();
      EXPECT_NEAR(y, x, 1e-5 * std::abs(x)) << key << " epoch " << e + 1;
    }
  }
  EXPECT_EQ(test_line(two.output), test_line(one.output));
  for (const char* tree : {"logs", "checkpoints", "tensorboard"}) {
    std::vector<std::string> runs;
    for (const auto& entry : fs::directory_iterator(dir_.path() / tree))
      runs.push_back(entry.path().filename().string());
    std::sort(runs.begin(), runs.end());
    EXPECT_EQ(runs, (std::vector<std::string>{"one", "two"})) << tree;
  }
  EXPECT_TRUE(fs::is_empty(dir_.path() / "tmp"));
}

TEST_F(VisionMambaPrograms, TrainsOnCifar10BinaryBatches) {
  write_cifar10(dir_.path() / "cifar" / "cifar-10-batches-bin", 20);
  const ProgramRun train = program(
      "train_vision_mamba",
      "--config cifar10 --data.data_dir cifar --model.size tiny --model.depth 1 "
      "--model.embed_dim 16 --model.patch_size 8 --training.batch_size 16 --training.epochs 1 "
      "--training.device cpu --training.warmup_epochs 0 --logging.progress off");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_TRUE(fs::exists(dir_.path() / "checkpoints/vision_mamba_cifar10/best_model.pth"));
  EXPECT_TRUE(fs::exists(dir_.path() / "logs/vision_mamba_cifar10/training_log.json"));
  EXPECT_NE(train.output.find("airplane"), std::string::npos);  // class names in the report
}

TEST_F(VisionMambaPrograms, BadInputGivesOneLineAndWritesNothing) {
  // A checkpoint of another model, and a corrupt one.
  fs::create_directories(dir_.path() / "other");
  auto cmamba = train::wrap_module(models::CMamba(testing::tiny_cmamba_options()));
  train::CheckpointState state;
  state.config = {{"model", {{"name", "CMamba"}, {"config", testing::tiny_cmamba_options()}}}};
  train::save_checkpoint((dir_.path() / "other/cmamba.pt").string(), *cmamba, nullptr, state);
  dir_.write("other/corrupt.pth", "not a checkpoint at all");
  dir_.write("unknown_key.json", R"({"training": {"lrr": 3}})");
  const struct {
    const char* program;
    std::string args;
    std::string expected;
    long lines = 1;  // an unknown flag adds the usage (two lines) to its error line
  } cases[] = {
      {"train_vision_mamba", "--config no_such_config", "--config: 'no_such_config'"},
      {"train_vision_mamba", "--config fashion_mnist --data.data_dir missing_dir",
       "--data.data_dir: missing_dir holds no fashion_mnist data"},
      {"train_vision_mamba", "--config fashion_mnist --training.lrr 3", "training.lrr", 3},
      {"train_vision_mamba", "--config unknown_key.json", "training.lrr"},
      {"evaluate_model", "--checkpoint other/corrupt.pth --output_dir eval", "corrupt.pth"},
      {"evaluate_model", "--checkpoint other/cmamba.pt --output_dir eval",
       "holds a 'CMamba' model, not a VisionMamba"},
      {"evaluate_model", "--checkpoint other/absent.pth --output_dir eval", "absent.pth"},
  };
  for (const auto& c : cases) {
    const ProgramRun run = program(c.program, c.args);
    EXPECT_EQ(run.exit_code, 1) << c.args;
    EXPECT_EQ(run.output.rfind(std::string(c.program) + ": ", 0), 0u) << run.output;
    EXPECT_NE(run.output.find(c.expected), std::string::npos) << run.output;
    EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), c.lines) << run.output;
    for (const char* folder : {"logs", "checkpoints", "tensorboard", "eval"})
      EXPECT_FALSE(fs::exists(dir_.path() / folder)) << c.args << ": " << folder;
  }
}

}  // namespace
}  // namespace ssmkit
