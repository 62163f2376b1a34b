// ssmkit_run's launcher: its command line, the torchrun environment of each worker, and the
// watching: every worker's success is 0, a failed worker stops the others within seconds with
// its own exit status, a killed one gives 128 + signal.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ssmkit/cli/worker_launcher.h"
#include "ssmkit/io/error.h"
#include "test_temp_dir.h"

namespace ssmkit::cli {
namespace {

std::map<std::string, std::string> as_map(
    const std::vector<std::pair<std::string, std::string>>& v) {
  return {v.begin(), v.end()};
}

TEST(WorkerLauncher, ParsesTorchrunFlagsInBothSpellingsAndKeepsTheProgramsOwn) {
  const LaunchOptions o = parse_launch_arguments(
      {"--nproc-per-node", "3", "--nnodes=2", "--node_rank", "1", "--master_addr", "10.0.0.1",
       "--master-port=29601", "train_c_mamba", "--epochs", "2", "--nproc_per_node", "9"});
  EXPECT_EQ(o.nproc_per_node, 3);
  EXPECT_EQ(o.nnodes, 2);
  EXPECT_EQ(o.node_rank, 1);
  EXPECT_EQ(o.master_addr, "10.0.0.1");
  EXPECT_EQ(o.master_port, 29601);
  EXPECT_EQ(o.program, "train_c_mamba");
  EXPECT_EQ(o.arguments, (std::vector<std::string>{"--epochs", "2", "--nproc_per_node", "9"}));

  const auto env = as_map(worker_environment(o, 2));
  EXPECT_EQ(env.at("RANK"), "5");  // node 1 of nodes with 3 workers each
  EXPECT_EQ(env.at("LOCAL_RANK"), "2");
  EXPECT_EQ(env.at("WORLD_SIZE"), "6");
  EXPECT_EQ(env.at("LOCAL_WORLD_SIZE"), "3");
  EXPECT_EQ(env.at("GROUP_RANK"), "1");
  EXPECT_EQ(env.at("MASTER_ADDR"), "10.0.0.1");
  EXPECT_EQ(env.at("MASTER_PORT"), "29601");

  const LaunchOptions standalone = parse_launch_arguments({"--standalone", "--", "prog"});
  EXPECT_EQ(standalone.master_addr, "127.0.0.1");
  EXPECT_GT(standalone.master_port, 0);
  EXPECT_EQ(standalone.nproc_per_node, 1);
}

TEST(WorkerLauncher, BadCommandLinesNameTheFlag) {
  const auto message = [](const std::vector<std::string>& words) {
    try {
      parse_launch_arguments(words);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({"--nproc_per_node", "0", "p"}).find("--nproc_per_node"), std::string::npos);
  EXPECT_NE(message({"--nproc_per_node", "two", "p"}).find("'two'"), std::string::npos);
  EXPECT_NE(message({"--master_port", "70000", "p"}).find("--master_port"), std::string::npos);
  EXPECT_NE(message({"--max_restarts", "3", "p"}).find("unknown flag"), std::string::npos);
  EXPECT_NE(message({"--nproc_per_node", "2"}).find("no program"), std::string::npos);
  EXPECT_NE(message({"--nnodes", "2", "--node_rank", "2", "p"}).find("--node_rank"),
            std::string::npos);
  EXPECT_NE(message({"--master_port"}).find("missing its value"), std::string::npos);
}

TEST(WorkerLauncher, FindsProgramsBesideTheLauncherThenOnPath) {
  const ssmkit::testing::TempDir dir;
  const std::string tool = dir.file("tool");
  std::ofstream(tool) << "#!/bin/sh\n";
  ASSERT_EQ(::chmod(tool.c_str(), 0755), 0);
  EXPECT_EQ(resolve_program("tool", dir.path().string()), tool);
  const std::string sh = resolve_program("sh", "/nonexistent");  // from PATH
  EXPECT_EQ(sh.substr(sh.size() - 3), "/sh");
  EXPECT_EQ(resolve_program(tool, ""), tool);
  EXPECT_THROW(resolve_program("no_such_program_xyz", dir.path().string()), InputError);
  EXPECT_THROW(resolve_program(dir.file("missing"), ""), InputError);
}

LaunchOptions shell_workers(int64_t workers, const std::string& script) {
  LaunchOptions o;
  o.nproc_per_node = workers;
  o.master_port = 29999;
  o.stop_timeout_seconds = 2.0;
  o.program = "/bin/sh";
  o.arguments = {"-c", script};
  return o;
}

// Runs `workers` shells of `script`: the launcher's status, within `seconds` of wall time.
void expect_status_within(int64_t workers, const std::string& script, int status, double seconds) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(launch_workers(shell_workers(workers, script), "/bin/sh"), status) << script;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
            seconds)
      << script;
}

TEST(WorkerLauncher, EveryWorkerSeesItsRankAndSuccessIsZero) {
  const ssmkit::testing::TempDir dir;
  const LaunchOptions o =
      shell_workers(3, "echo \"$RANK $LOCAL_RANK $WORLD_SIZE $MASTER_PORT $OMP_NUM_THREADS\" > " +
                           dir.path().string() + "/rank$RANK");
  EXPECT_EQ(launch_workers(o, "/bin/sh"), 0);
  for (int rank = 0; rank < 3; ++rank) {
    std::ifstream in(dir.file("rank" + std::to_string(rank)));
    std::string line;
    std::getline(in, line);
    const std::string r = std::to_string(rank);
    // OMP_NUM_THREADS is 1 unless the caller's environment sets it.
    EXPECT_EQ(line.rfind(r + " " + r + " 3 29999 ", 0), 0u) << line;
  }
}

TEST(WorkerLauncher, AFailedWorkerStopsTheOthersWithinSecondsAndGivesItsStatus) {
  // Rank 1 fails after a moment; the others would sleep for a minute.
  expect_status_within(3, "if [ \"$RANK\" = 1 ]; then sleep 0.3; exit 7; fi; sleep 60", 7, 10.0);
}

TEST(WorkerLauncher, AWorkerKilledBySignalGivesOneTwentyEightPlusTheSignal) {
  expect_status_within(2, "if [ \"$RANK\" = 0 ]; then sleep 0.3; kill -9 $$; fi; sleep 60", 128 + 9,
                       10.0);
}

TEST(WorkerLauncher, WorkersThatIgnoreSigtermAreKilledAfterTheStopTimeout) {
  // SIGKILL after the 2 s stop timeout.
  expect_status_within(2,
                       "if [ \"$RANK\" = 1 ]; then sleep 0.3; exit 3; fi; "
                       "trap '' TERM; while true; do sleep 0.1; done",
                       3, 10.0);
}

}  // namespace
}  // namespace ssmkit::cli
