// Process groups from the torchrun environment: the variables' errors name the variable; two
// processes of this test binary rendezvous over TCP and run Gloo collectives (broadcast, sums,
// means) with the expected results; a rendezvous nobody answers fails with one error naming the
// address within the timeout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "ssmkit/io/error.h"
#include "ssmkit/train/distributed.h"
#include "test_temp_dir.h"

namespace {

using namespace ssmkit::train;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

const char* const kTorchrunVariables[] = {
    "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"};

// Sets the variables for one test and restores the previous values after it.
class ScopedEnvironment {
 public:
  explicit ScopedEnvironment(const std::map<std::string, std::string>& values) {
    for (const char* name : kTorchrunVariables) {
      if (const char* old = std::getenv(name)) saved_[name] = old;
      unsetenv(name);
    }
    for (const auto& [name, value] : values)
      setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnvironment() {
    for (const char* name : kTorchrunVariables)
      unsetenv(name);
    for (const auto& [name, value] : saved_)
      setenv(name.c_str(), value.c_str(), 1);
  }

 private:
  std::map<std::string, std::string> saved_;
};

TEST(DistributedEnvironment, AbsentMeansOneProcessAndBadVariablesAreNamed) {
  {
    const ScopedEnvironment none({});
    const auto env = DistributedEnvironment::from_environment();
    EXPECT_FALSE(env.present);
    const DistributedContext context =
        DistributedContext::join(env, "auto", torch::kCPU, std::chrono::seconds(1));
    EXPECT_FALSE(context.is_distributed());
    EXPECT_TRUE(context.is_main());
  }
  const auto expect_error = [](const std::map<std::string, std::string>& values,
                               const std::string& text) {
    const ScopedEnvironment env(values);
    EXPECT_THAT([] { DistributedEnvironment::from_environment(); },
                ThrowsMessage<ssmkit::InputError>(HasSubstr(text)));
  };
  expect_error({{"RANK", "0"}}, "WORLD_SIZE: not set");
  expect_error({{"RANK", "x"}, {"WORLD_SIZE", "2"}}, "RANK: expected an integer");
  expect_error({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}},
               "RANK: 2 is not below WORLD_SIZE 2");
  expect_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "29500"}},
               "MASTER_ADDR: not set");
  expect_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}},
               "MASTER_PORT: not set");
}

// The worker half of TwoProcessesRunGlooCollectives: runs only when that test starts it.
TEST(DistributedWorker, Collectives) {
  const char* out = std::getenv("SSMKIT_TEST_DIST_OUT");
  if (out == nullptr)
    GTEST_SKIP() << "started by DistributedContext.TwoProcessesRunGlooCollectives";
  const auto env = DistributedEnvironment::from_environment();
  DistributedContext context =
      DistributedContext::join(env, "gloo", torch::kCPU, std::chrono::seconds(20));
  ASSERT_EQ(context.world_size(), 2);
  const double rank = static_cast<double>(context.rank());
  std::vector<at::Tensor> sums = {torch::full({3}, rank + 1.0),
                                  torch::arange(4, torch::kFloat64) * rank};
  context.all_reduce_sum(sums);
  std::vector<at::Tensor> broadcast = {torch::full({2}, rank + 7.0)};
  context.broadcast(broadcast, 1);
  const double mean = context.all_reduce_mean(rank * 10.0);
  context.barrier();
  std::ofstream(std::string(out) + "/rank" + std::to_string(context.rank()) + ".txt")
      << sums[0][0].item<double>() << " " << sums[1][3].item<double>() << " "
      << broadcast[0][1].item<double>() << " " << mean << "\n";
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

TEST(DistributedContext, TwoProcessesRunGlooCollectives) {
  if (!distributed_available()) GTEST_SKIP() << "built without c10d Gloo (libgloo-dev)";
  const ssmkit::testing::TempDir dir;
  const std::string port = std::to_string(29600 + (::getpid() % 300));
  std::string command;
  for (int rank = 0; rank < 2; ++rank) {
    command += "RANK=" + std::to_string(rank) +
               " WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + port +
               " SSMKIT_TEST_DIST_OUT=" + dir.path().string() + " timeout 60 /proc/" +
               std::to_string(::getpid()) + "/exe --gtest_filter=DistributedWorker.Collectives > " +
               dir.file("log" + std::to_string(rank)) + " 2>&1 & ";
  }
  // The workers are this test binary (/proc/<pid>/exe), each running the worker test.
  ASSERT_EQ(std::system((command + "wait").c_str()), 0);
  for (int rank = 0; rank < 2; ++rank) {
    // sums: 1 + 2 = 3 and 0 * 3 + 1 * 3 = 3; broadcast from rank 1: 8; mean of 0 and 10: 5.
    EXPECT_EQ(read_text(dir.file("rank" + std::to_string(rank) + ".txt")), "3 3 8 5")
        << read_text(dir.file("log" + std::to_string(rank)));
  }
}

TEST(DistributedContext, ARendezvousNobodyAnswersFailsWithinTheTimeoutNamingTheAddress) {
  if (!distributed_available()) GTEST_SKIP() << "built without c10d Gloo (libgloo-dev)";
  DistributedEnvironment env;
  env.present = true;
  env.rank = 1;
  env.world_size = 2;
  env.master_addr = "127.0.0.1";
  env.master_port = 29599;  // rank 0 never starts
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT([&] { DistributedContext::join(env, "gloo", torch::kCPU, std::chrono::seconds(2)); },
              ThrowsMessage<ssmkit::InputError>(HasSubstr("127.0.0.1:29599")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
}

}  // namespace
