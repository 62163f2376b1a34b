// Running built programs from the tests.
#include "apps/program_run.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "ssmkit/io/file_bytes.h"

namespace ssmkit::testing {

std::string program_path(const std::string& name) {
  return std::string(SSMKIT_BINARY_DIR) + "/apps/" + name;
}

ProgramRun run_command(const TempDir& dir, const std::string& command_line) {
  const std::string log = dir.file("run.log");
  const int status = std::system((command_line + " >" + log + " 2>&1").c_str());
  ProgramRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.output = io::read_file_bytes(log);
  std::filesystem::remove(log);
  return run;
}

}  // namespace ssmkit::testing
