// ssmkit_run with a real training program: two workers train to the validation curve of one
// process with twice the batch, and only rank 0 writes; a worker killed mid-epoch stops the run
// within seconds with a non-zero status, the last checkpoint stays intact, and resuming from it
// reaches the weights of an uninterrupted run; a wrong MASTER_PORT or a missing variable gives
// one error line, fast, and no run folder.
#include <gtest/gtest.h>
#include <signal.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "apps/program_run.h"
#include "ssmkit/io/file_bytes.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/train/checkpoint.h"
#include "ssmkit/train/trainable_model.h"
#include "test_temp_dir.h"

namespace ssmkit::launcher_suite {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using testing::TempDir;

const std::string kLauncher = testing::program_path("ssmkit_run");
const std::string kTrainer = testing::program_path("train_c_mamba");
const std::string kPrepareProgram = testing::program_path("prepare_data");
const std::string kSeries = std::string(SSMKIT_SOURCE_DIR) + "/data/sample_series.json";
const std::string kSmallModel =
    " --seq_len 32 --forecast_len 8 --input_dim 3 --hidden_dim 16 --num_layers 1 --patch_len 8"
    " --stride 4 --d_state 4 --learning_rate 0.005 --progress off --threads 1 --patience 0"
    " --seed 7";

class SsmkitRunProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kLauncher) || !fs::exists(kTrainer) || !fs::exists(kPrepareProgram)) {
      GTEST_SKIP() << "ssmkit_run, train_c_mamba or prepare_data not built";
    }
    fs::create_directories(dir_.file("tmp"));
    const auto prepared = testing::run_command(
        dir_, kPrepareProgram + " --input_file " + kSeries + " --output_file " + npz() +
                  " --input_length 32 --forecast_length 8 --test_size 0.15");
    ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  }

  std::string npz() const { return dir_.file("windows.npz"); }
  std::string common() const {
    return " --train_dataset " + npz() + " --output_dir " + dir_.file("runs") + kSmallModel;
  }
  // Workers' scratch folders go to this test's own temporary folder.
  std::string launcher() const {
    return "TMPDIR=" + dir_.file("tmp") + " " + kLauncher + " --standalone ";
  }

  TempDir dir_;
};

json read_json(const std::string& path) {
  return json::parse(io::read_file_bytes(path));
}

std::vector<at::Tensor> checkpoint_weights(const std::string& checkpoint) {
  const json config = train::read_checkpoint_state(checkpoint).config;
  auto model = train::wrap_module(
      models::create_model(config.at("model").at("name"), config.at("model").at("config")));
  train::load_checkpoint(checkpoint, *model, nullptr, torch::kCPU, /*restore_rng=*/false);
  return model->parameters();
}

// Processes whose parent is `parent`, from /proc.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
    std::istringstream rest(line.substr(line.rfind(')') + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) children.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return children;
}

bool wait_until(const std::function<bool()>& done, double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

TEST_F(SsmkitRunProgram, TwoWorkersFollowOneProcessWithTwiceTheBatchAndOnlyRankZeroWrites) {
  // No dropout and no channel mixup: nothing random differs between the ranks.
  const std::string deterministic = " --sigma 0 --dropout 0 --model.config.head_dropout 0";
  const auto one = testing::run_command(dir_, kTrainer + common() + deterministic +
                                                  " --batch_size 64 --num_epochs 3 "
                                                  "--project_name one");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto two = testing::run_command(
      dir_, launcher() + "--nproc_per_node 2 train_c_mamba" + common() + deterministic +
                " --batch_size 32 --num_epochs 3 --project_name two");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("ssmkit_run: starting 2 workers"), std::string::npos) << two.output;
  EXPECT_NE(two.output.find("weights identical on all 2 ranks (CRC-32C 0x"), std::string::npos)
      << two.output;

  const json a = read_json(dir_.file("runs/one/training_log.json"));
  const json b = read_json(dir_.file("runs/two/training_log.json"));
  ASSERT_EQ(b.at("epochs").size(), 3u);
  for (size_t e = 0; e < 3; ++e) {
    for (const char* key : {"train_loss", "val_loss"}) {
      const double x = a["epochs"][e][key].get<double>(), y = b["epochs"][e][key].get<double>();
      EXPECT_NEAR(y, x, 1e-5 * std::abs(x)) << key << " epoch " << e + 1;
    }
    // Each rank took the same number of steps as the single process: half the batch each.
    EXPECT_EQ(b["epochs"][e]["step"], a["epochs"][e]["step"]);
  }
  EXPECT_NEAR(b["test"]["loss"].get<double>(), a["test"]["loss"].get<double>(),
              1e-5 * a["test"]["loss"].get<double>());
  // One run folder, rank 0's; the other rank's scratch folder is gone; one report.
  std::vector<std::string> runs;
  for (const auto& entry : fs::directory_iterator(dir_.file("runs")))
    runs.push_back(entry.path().filename().string());
  std::sort(runs.begin(), runs.end());
  EXPECT_EQ(runs, (std::vector<std::string>{"one", "two"}));
  EXPECT_TRUE(fs::is_empty(dir_.file("tmp")));
  EXPECT_TRUE(fs::exists(dir_.file("runs/two/checkpoints/best.pt")));
  EXPECT_TRUE(fs::exists(dir_.file("runs/two/forecast_metrics.json")));
  size_t reports = 0;
  for (size_t at = two.output.find("test windows: MSE"); at != std::string::npos;
       at = two.output.find("test windows: MSE", at + 1))
    ++reports;
  EXPECT_EQ(reports, 1u) << "only rank 0 prints\n" << two.output;

  // The 2-rank checkpoint resumes in one process (with the global batch) as the 1-process one.
  const std::string more = " --num_epochs 4 --progress off --threads 1";
  ASSERT_EQ(
      testing::run_command(dir_, kTrainer + " --resume " + dir_.file("runs/one") + more).exit_code,
      0);
  const auto regrouped = testing::run_command(
      dir_, kTrainer + " --resume " + dir_.file("runs/two") + more + " --batch_size 64");
  ASSERT_EQ(regrouped.exit_code, 0) << regrouped.output;
  const json c = read_json(dir_.file("runs/one/training_log.json"));
  const json d = read_json(dir_.file("runs/two/training_log.json"));
  ASSERT_EQ(d.at("epochs").size(), 4u);
  const double x = c["epochs"][3]["val_loss"].get<double>();
  EXPECT_NEAR(d["epochs"][3]["val_loss"].get<double>(), x, 1e-5 * x);
}

TEST_F(SsmkitRunProgram, AKilledWorkerStopsTheRunAndResumingReachesTheUninterruptedWeights) {
  constexpr int kEpochs = 20;
  const std::string args = "--nproc_per_node 2 train_c_mamba" + common() +
                           " --batch_size 32 --num_epochs " + std::to_string(kEpochs);
  const auto full = testing::run_command(dir_, launcher() + args + " --project_name full");
  ASSERT_EQ(full.exit_code, 0) << full.output;

  // In the background: a shell that runs ssmkit_run and records its exit status.
  const std::string status_file = dir_.file("status"), pid_file = dir_.file("pid");
  const std::string command = "(" + launcher() + args + " --project_name killed > " +
                              dir_.file("killed.log") + " 2>&1; echo $? > " + status_file +
                              ") & echo $! > " + pid_file;
  ASSERT_EQ(std::system(command.c_str()), 0);
  pid_t shell = 0;
  ASSERT_TRUE(wait_until([&] { return (std::ifstream(pid_file) >> shell).good(); }, 5));
  // Once the first checkpoint is written, kill rank 1 in the middle of the next epoch.
  const std::string last = dir_.file("runs/killed/checkpoints/last.pt");
  ASSERT_TRUE(wait_until([&] { return fs::exists(last); }, 60))
      << io::read_file_bytes(dir_.file("killed.log"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::vector<pid_t> launchers = children_of(shell);
  ASSERT_EQ(launchers.size(), 1u);
  std::vector<pid_t> workers = children_of(launchers[0]);
  ASSERT_EQ(workers.size(), 2u);
  std::sort(workers.begin(), workers.end());  // started in rank order
  const auto killed_at = Clock::now();
  ASSERT_EQ(::kill(workers[1], SIGKILL), 0);
  ASSERT_TRUE(
      wait_until([&] { return fs::exists(status_file) && fs::file_size(status_file) > 0; }, 20));
  const double stop_seconds = std::chrono::duration<double>(Clock::now() - killed_at).count();
  EXPECT_LT(stop_seconds, 10.0);
  int status = 0;
  std::ifstream(status_file) >> status;
  const std::string log = io::read_file_bytes(dir_.file("killed.log"));
  EXPECT_EQ(status, 128 + SIGKILL) << log;
  EXPECT_NE(log.find("worker 1"), std::string::npos) << log;
  EXPECT_NE(log.find("killed by signal 9"), std::string::npos) << log;
  EXPECT_TRUE(children_of(launchers[0]).empty());

  // The last checkpoint is intact (it loads) and from before the end.
  const int64_t stopped_epoch = train::read_checkpoint_state(last).epoch;
  EXPECT_GE(stopped_epoch, 1);
  EXPECT_LT(stopped_epoch, kEpochs);
  EXPECT_NO_THROW(checkpoint_weights(last));

  const auto resumed =
      testing::run_command(dir_, launcher() + "--nproc_per_node 2 train_c_mamba --resume " +
                                     dir_.file("runs/killed") + " --progress off --threads 1");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const auto a = checkpoint_weights(dir_.file("runs/full/checkpoints/last.pt"));
  const auto b = checkpoint_weights(last);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
  EXPECT_EQ(read_json(dir_.file("runs/killed/training_log.json"))["epochs"].size(),
            static_cast<size_t>(kEpochs));
}

TEST_F(SsmkitRunProgram, AWrongPortOrAMissingVariableIsOneErrorLineWithoutAHang) {
  // Rank 1 of 2 looks for a rank 0 that never comes.
  const auto start = Clock::now();
  const auto wrong_port = testing::run_command(
      dir_, "RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=9 " + kTrainer + common() +
                " --batch_size 32 --num_epochs 1 --dist_timeout 2 --project_name port");
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 30.0);
  EXPECT_EQ(wrong_port.exit_code, 1) << wrong_port.output;
  const std::string last_line =
      wrong_port.output.substr(wrong_port.output.rfind('\n', wrong_port.output.size() - 2) + 1);
  EXPECT_NE(last_line.find("train_c_mamba: MASTER_ADDR:MASTER_PORT 127.0.0.1:9"), std::string::npos)
      << wrong_port.output;
  EXPECT_FALSE(fs::exists(dir_.file("runs/port")));

  const auto missing = testing::run_command(
      dir_, "RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29511 " + kTrainer + common() +
                " --batch_size 32 --num_epochs 1 --project_name missing");
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("WORLD_SIZE: not set"), std::string::npos) << missing.output;
  EXPECT_FALSE(fs::exists(dir_.file("runs/missing")));

  const auto launcher_error = testing::run_command(dir_, kLauncher + " --nproc_per_node 2");
  EXPECT_EQ(launcher_error.exit_code, 1);
  EXPECT_EQ(launcher_error.output.rfind("ssmkit_run: no program", 0), 0u) << launcher_error.output;
}

}  // namespace
}  // namespace ssmkit::launcher_suite
