// GoogleTest main for ssmkit's suites: uses every core, as the programs do, and prints a stack
// trace when a test crashes, so a crash on another machine names its place in the log.
#include <execinfo.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>

#include "ssmkit/util/threads.h"

namespace {

void print_stack_and_reraise(int signal) {
  void* frames[64];
  const int count = ::backtrace(frames, 64);
  const char header[] = "\n*** fatal signal; stack:\n";
  (void)!::write(STDERR_FILENO, header, sizeof(header) - 1);
  ::backtrace_symbols_fd(frames, count, STDERR_FILENO);
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

}  // namespace

int main(int argc, char** argv) {
  for (const int signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    std::signal(signal, print_stack_and_reraise);
  ::testing::InitGoogleTest(&argc, argv);
  ssmkit::init_threads();
  return RUN_ALL_TESTS();
}
