// Flag parsing shared by the benchmarks: the same answer to --help and to bad flags in each.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cxxopts.hpp>
#include <exception>

namespace ssmkit::bench {

// Parses argv with `cli`. --help prints the usage and exits 0; an unknown flag or a value of the
// wrong type prints one error line naming the program and exits 1 (no stack trace).
inline cxxopts::ParseResult parse_flags_or_exit(cxxopts::Options& cli, int argc, char** argv) {
  cxxopts::ParseResult args;
  try {
    args = cli.parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", cli.program().c_str(), e.what());
    std::exit(1);
  }
  if (args.count("help")) {
    std::printf("%s\n", cli.help().c_str());
    std::exit(0);
  }
  return args;
}

}  // namespace ssmkit::bench
