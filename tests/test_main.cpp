// GoogleTest main for ssmkit's suites: uses every core, as the programs do, prints a stack trace
// when a test crashes, so a crash on another machine names its place in the log, and seeds
// LibTorch's generators before every test. LibTorch seeds its default CPU generator from the
// system's entropy, so without this a test's random data changed from run to run and a rare draw
// failed on one machine only.
#include <execinfo.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
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

// The same seed before each test, so that a test's draws do not depend on which tests ran first.
class SeedEveryTest : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo& /*test*/) override { torch::manual_seed(kSeed); }

 private:
  static constexpr uint64_t kSeed = 20240607;
};

}  // namespace

int main(int argc, char** argv) {
  for (const int signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    std::signal(signal, print_stack_and_reraise);
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new SeedEveryTest);
  ssmkit::init_threads();
  return RUN_ALL_TESTS();
}
