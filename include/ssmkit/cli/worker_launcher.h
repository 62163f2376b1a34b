// Starts the local workers of a data-parallel run with torchrun's environment contract (RANK,
// LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT), forwards the
// signals it receives to them, and stops them all as soon as one fails: a run with a dead rank
// would otherwise hang in its next collective until the timeout. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ssmkit::cli {

struct LaunchOptions {
  int64_t nproc_per_node = 1;
  int64_t nnodes = 1;
  int64_t node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  // After a worker fails (or a signal arrives), the others get SIGTERM, and SIGKILL after this.
  double stop_timeout_seconds = 5.0;
  // OMP_NUM_THREADS for the workers when the environment has none (torchrun's default is 1:
  // N workers with all cores each would oversubscribe the machine).
  int64_t threads_per_worker = 1;
  std::string program;                 // name (found beside the launcher, then on PATH) or path
  std::vector<std::string> arguments;  // the program's own arguments
};

// Parses "ssmkit_run [launcher flags] PROGRAM [program arguments]": launcher flags come before
// the program (both --nproc_per_node and torchrun's --nproc-per-node spellings); everything
// after the program name is the program's. InputError names a bad flag or value.
LaunchOptions parse_launch_arguments(const std::vector<std::string>& words);

// The environment of the worker of local rank `local_rank`.
std::vector<std::pair<std::string, std::string>> worker_environment(const LaunchOptions& options,
                                                                    int64_t local_rank);

// The executable for `program`: a path as given; a bare name from `launcher_dir` when it is
// there (the ssmkit programs installed beside ssmkit_run), else from PATH. InputError when none.
std::string resolve_program(const std::string& program, const std::string& launcher_dir);

// Runs the workers to completion. Returns 0 when every worker exits 0; otherwise the exit
// status of the first worker that failed (128 + signal when it was killed), or 128 + signal
// when the launcher itself was interrupted. Progress and failures are reported on stderr with
// the "ssmkit_run: " prefix.
int launch_workers(const LaunchOptions& options, const std::string& executable);

}  // namespace ssmkit::cli
