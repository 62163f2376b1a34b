// Local workers of a data-parallel run: start, watch, stop.
#include "ssmkit/cli/worker_launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include "ssmkit/io/error.h"

namespace ssmkit::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kStartFailure = 127;  // a shell's status for a command that could not run

int64_t integer_value(const std::string& flag, const std::string& text, int64_t minimum,
                      int64_t maximum) {
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < minimum || value > maximum) {
    throw InputError("--" + flag + ": expected an integer in [" + std::to_string(minimum) + ", " +
                     std::to_string(maximum) + "], got '" + text + "'");
  }
  return value;
}

// A port that is free now on the loopback interface (for --standalone).
int64_t free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw InputError(std::string("--standalone: no socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  const int error = errno;
  ::close(fd);
  if (!ok) throw InputError(std::string("--standalone: no free port: ") + std::strerror(error));
  return ntohs(address.sin_port);
}

// "--nproc-per-node" and "--nproc_per_node" are the same flag, as in torchrun.
std::string canonical_flag(std::string name) {
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    return "was killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  }
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

int exit_code(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

void report(const std::string& message) {
  std::fprintf(stderr, "ssmkit_run: %s\n", message.c_str());
  std::fflush(stderr);
}

// In the child: environment, signal mask, then the program. Never returns.
[[noreturn]] void exec_worker(const LaunchOptions& options, const std::string& executable,
                              int64_t local_rank, const sigset_t& original_mask) {
  // A worker outlives a launcher killed with SIGKILL only until it notices: it gets SIGTERM.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  ::sigprocmask(SIG_SETMASK, &original_mask, nullptr);
  for (const auto& [name, value] : worker_environment(options, local_rank))
    ::setenv(name.c_str(), value.c_str(), 1);
  if (std::getenv("OMP_NUM_THREADS") == nullptr) {
    ::setenv("OMP_NUM_THREADS", std::to_string(options.threads_per_worker).c_str(), 1);
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(executable.c_str()));
  for (const std::string& argument : options.arguments)
    argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  ::execv(executable.c_str(), argv.data());
  std::fprintf(stderr, "ssmkit_run: cannot run %s: %s\n", executable.c_str(), std::strerror(errno));
  ::_exit(kStartFailure);
}

}  // namespace

LaunchOptions parse_launch_arguments(const std::vector<std::string>& words) {
  LaunchOptions options;
  bool standalone = false;
  size_t i = 0;
  for (; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word == "--") {
      ++i;
      break;
    }
    if (word.rfind("--", 0) != 0) break;  // the program
    std::string name = word.substr(2), value;
    const size_t equals = name.find('=');
    const bool inline_value = equals != std::string::npos;
    if (inline_value) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    }
    name = canonical_flag(name);
    if (name == "standalone") {
      standalone = true;
      continue;
    }
    const auto take_value = [&]() {
      if (inline_value) return value;
      if (i + 1 >= words.size()) throw InputError("--" + name + ": missing its value");
      return words[++i];
    };
    if (name == "nproc_per_node") {
      options.nproc_per_node = integer_value(name, take_value(), 1, 1024);
    } else if (name == "nnodes") {
      options.nnodes = integer_value(name, take_value(), 1, 1 << 16);
    } else if (name == "node_rank") {
      options.node_rank = integer_value(name, take_value(), 0, (1 << 16) - 1);
    } else if (name == "master_addr") {
      options.master_addr = take_value();
      if (options.master_addr.empty()) throw InputError("--master_addr: empty");
    } else if (name == "master_port") {
      options.master_port = integer_value(name, take_value(), 1, 65535);
    } else if (name == "stop_timeout") {
      const std::string text = take_value();
      char* end = nullptr;
      options.stop_timeout_seconds = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !(options.stop_timeout_seconds >= 0)) {
        throw InputError("--stop_timeout: expected seconds >= 0, got '" + text + "'");
      }
    } else if (name == "threads_per_worker") {
      options.threads_per_worker = integer_value(name, take_value(), 1, 4096);
    } else {
      throw InputError("--" + name +
                       ": unknown flag (launcher flags: --nproc_per_node, --nnodes, --node_rank, "
                       "--master_addr, --master_port, --standalone, --stop_timeout, "
                       "--threads_per_worker; they come before the program)");
    }
  }
  if (i >= words.size()) throw InputError("no program to run (ssmkit_run [flags] PROGRAM ARGS...)");
  options.program = words[i];
  options.arguments.assign(words.begin() + static_cast<std::ptrdiff_t>(i) + 1, words.end());
  if (options.node_rank >= options.nnodes) {
    throw InputError("--node_rank: " + std::to_string(options.node_rank) +
                     " is not below --nnodes " + std::to_string(options.nnodes));
  }
  if (standalone) {
    if (options.nnodes != 1) throw InputError("--standalone: runs on one node (--nnodes 1)");
    options.master_addr = "127.0.0.1";
    options.master_port = free_local_port();
  }
  return options;
}

std::vector<std::pair<std::string, std::string>> worker_environment(const LaunchOptions& options,
                                                                    int64_t local_rank) {
  const int64_t rank = options.node_rank * options.nproc_per_node + local_rank;
  return {{"RANK", std::to_string(rank)},
          {"LOCAL_RANK", std::to_string(local_rank)},
          {"WORLD_SIZE", std::to_string(options.nnodes * options.nproc_per_node)},
          {"LOCAL_WORLD_SIZE", std::to_string(options.nproc_per_node)},
          {"GROUP_RANK", std::to_string(options.node_rank)},
          {"MASTER_ADDR", options.master_addr},
          {"MASTER_PORT", std::to_string(options.master_port)}};
}

std::string resolve_program(const std::string& program, const std::string& launcher_dir) {
  const auto runnable = [](const fs::path& path) {
    std::error_code error;
    return fs::is_regular_file(path, error) && ::access(path.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    if (!runnable(program)) throw InputError(program + ": not an executable file");
    return program;
  }
  if (!launcher_dir.empty() && runnable(fs::path(launcher_dir) / program)) {
    return (fs::path(launcher_dir) / program).string();
  }
  if (const char* path = std::getenv("PATH")) {
    std::string folders = path;
    size_t start = 0;
    while (start <= folders.size()) {
      const size_t end = std::min(folders.find(':', start), folders.size());
      const fs::path candidate = fs::path(folders.substr(start, end - start)) / program;
      if (end > start && runnable(candidate)) return candidate.string();
      start = end + 1;
    }
  }
  throw InputError(program + ": no such program beside ssmkit_run or on PATH");
}

int launch_workers(const LaunchOptions& options, const std::string& executable) {
  sigset_t watched, original;
  sigemptyset(&watched);
  for (int signal : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT})
    sigaddset(&watched, signal);
  // Blocked from before the first fork, so no signal is lost; sigtimedwait takes them in order.
  ::sigprocmask(SIG_BLOCK, &watched, &original);

  const int64_t first_rank = options.node_rank * options.nproc_per_node;
  report("starting " + std::to_string(options.nproc_per_node) + " worker" +
         (options.nproc_per_node > 1 ? "s" : "") + " of " + executable + " (ranks " +
         std::to_string(first_rank) + ".." +
         std::to_string(first_rank + options.nproc_per_node - 1) + " of " +
         std::to_string(options.nnodes * options.nproc_per_node) + ", rendezvous at " +
         options.master_addr + ":" + std::to_string(options.master_port) + ")");
  std::map<pid_t, int64_t> running;  // pid -> global rank
  for (int64_t local = 0; local < options.nproc_per_node; ++local) {
    const pid_t pid = ::fork();
    if (pid == 0) exec_worker(options, executable, local, original);
    if (pid < 0) {
      report(std::string("fork failed: ") + std::strerror(errno));
      for (const auto& [other, rank] : running)
        ::kill(other, SIGKILL);
      while (::waitpid(-1, nullptr, 0) > 0) {
      }
      ::sigprocmask(SIG_SETMASK, &original, nullptr);
      return kStartFailure;
    }
    running[pid] = first_rank + local;
  }

  int result = 0;
  bool stopping = false, killed = false;
  Clock::time_point deadline;
  const auto stop_all = [&](int signal) {
    for (const auto& [pid, rank] : running)
      ::kill(pid, signal);
  };
  const auto begin_stop = [&](int code) {
    stopping = true;
    result = code;
    deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(options.stop_timeout_seconds));
    stop_all(SIGTERM);
  };
  while (!running.empty()) {
    int status = 0;
    pid_t pid;
    while (!running.empty() && (pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      const auto found = running.find(pid);
      if (found == running.end()) continue;
      const int64_t rank = found->second;
      running.erase(found);
      if (exit_code(status) == 0) continue;
      if (!stopping) {
        report("worker " + std::to_string(rank) + " (pid " + std::to_string(pid) + ") " +
               describe_status(status) + "; stopping the other " + std::to_string(running.size()) +
               " worker" + (running.size() == 1 ? "" : "s"));
        begin_stop(exit_code(status));
      }
    }
    if (running.empty()) break;
    if (stopping && !killed && Clock::now() >= deadline) {
      report(std::to_string(running.size()) + " worker" + (running.size() == 1 ? "" : "s") +
             " still running after SIGTERM; sending SIGKILL");
      stop_all(SIGKILL);
      killed = true;
    }
    timespec wait = {0, 100 * 1000 * 1000};
    const int signal = ::sigtimedwait(&watched, nullptr, &wait);
    if (signal > 0 && signal != SIGCHLD) {
      report(std::string("received ") + ::strsignal(signal) + "; stopping the workers");
      if (!stopping) {
        begin_stop(128 + signal);
      }
      // The workers get the signal itself too (an interrupt asks for a clean stop).
      if (signal != SIGTERM) stop_all(signal);
    }
  }
  ::sigprocmask(SIG_SETMASK, &original, nullptr);
  return result;
}

}  // namespace ssmkit::cli
