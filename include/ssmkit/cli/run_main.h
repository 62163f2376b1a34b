// The one entry point of every program: runs its body and turns anything it throws into one error
// line "<program>: <message>" on stderr and exit status 1. Header-only and torch-free, so that
// prepare_data (which links no LibTorch) shares it.
#pragma once

#include <cxxopts.hpp>

#include <exception>
#include <functional>
#include <iostream>
#include <string>

#include "ssmkit/io/error.h"

namespace ssmkit::cli {

constexpr int kExitFailure = 1;

// A command line that does not parse (a stray word, an unknown flag): run_main adds the usage.
class UsageError : public InputError {
 public:
  using InputError::InputError;
};

// The message of `e` without a LibTorch backtrace: c10::Error appends one after this marker (the
// marker is matched as text so that this header needs no LibTorch).
inline std::string error_message(const std::exception& e) {
  static const std::string kBacktraceMarker = "\nException raised from ";
  std::string text = e.what();
  const size_t cut = text.find(kBacktraceMarker);
  return cut == std::string::npos ? text : text.substr(0, cut);
}

// Returns body(argc, argv), or kExitFailure after printing one error line for: bad input
// (InputError: files, flags, configs), a command line that does not parse (followed by `usage`,
// or a pointer to --help), and any other error.
inline int run_main(const std::string& program, int argc, char** argv,
                    const std::function<int(int, char**)>& body, const std::string& usage = "") {
  const std::string usage_hint = usage.empty() ? " (see --help)" : "\n" + usage;
  try {
    return body(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << program << ": " << e.what() << usage_hint << std::endl;
  } catch (const InputError& e) {
    std::cerr << program << ": " << e.what() << std::endl;
  } catch (const cxxopts::exceptions::exception& e) {
    std::cerr << program << ": " << e.what() << usage_hint << std::endl;
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << error_message(e) << std::endl;
  }
  return kExitFailure;
}

}  // namespace ssmkit::cli
