// Runs a built program of apps/ as a user would, from a shell, for the program suites.
#pragma once

#include <string>

#include "test_temp_dir.h"

namespace ssmkit::testing {

struct ProgramRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// The path of apps/<name> in the build tree.
std::string program_path(const std::string& name);

// Runs `command_line` through the shell with its output captured in a file of `dir`.
ProgramRun run_command(const TempDir& dir, const std::string& command_line);

}  // namespace ssmkit::testing
