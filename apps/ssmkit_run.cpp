// ssmkit_run: the launcher of data-parallel runs, with torchrun's command line and environment
// contract. `ssmkit_run --nproc_per_node 2 train_c_mamba ARGS...` starts two workers of
// train_c_mamba (found beside ssmkit_run, else on PATH) as ranks 0 and 1, forwards signals to
// them, and stops all of them as soon as one fails, exiting with that worker's status.
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "ssmkit/cli/run_main.h"
#include "ssmkit/cli/worker_launcher.h"

namespace {

constexpr const char* kProgram = "ssmkit_run";
constexpr const char* kUsage =
    "usage: ssmkit_run [--nproc_per_node N] [--nnodes M --node_rank R] [--master_addr HOST]\n"
    "                  [--master_port PORT] [--standalone] [--stop_timeout SECONDS]\n"
    "                  [--threads_per_worker T] PROGRAM [PROGRAM ARGUMENTS...]\n"
    "Starts N workers of PROGRAM with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,\n"
    "GROUP_RANK, MASTER_ADDR and MASTER_PORT set (as torchrun does; defaults: 1 node,\n"
    "127.0.0.1:29500; --standalone picks a free local port). OMP_NUM_THREADS defaults to\n"
    "--threads_per_worker (1). When a worker fails the others get SIGTERM (SIGKILL after\n"
    "--stop_timeout, 5 s) and ssmkit_run exits with the failed worker's status.";

int run(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  if (!words.empty() && (words[0] == "-h" || words[0] == "--help")) {
    std::cout << kUsage << std::endl;
    return 0;
  }
  const ssmkit::cli::LaunchOptions options = ssmkit::cli::parse_launch_arguments(words);
  std::error_code error;
  const std::string launcher_dir =
      std::filesystem::read_symlink("/proc/self/exe", error).parent_path().string();
  const std::string executable = ssmkit::cli::resolve_program(options.program, launcher_dir);
  return ssmkit::cli::launch_workers(options, executable);
}

}  // namespace

int main(int argc, char** argv) {
  return ssmkit::cli::run_main(kProgram, argc, argv, run, kUsage);
}
