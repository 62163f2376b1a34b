// The error type for bad input: malformed files, wrong shapes, bad flags. Programs catch it and
// print its message alone (no backtrace), then exit non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace ssmkit {

// Thrown for any user-facing input problem. The message names the file or flag, the position
// (line, byte offset) when known, and what was expected.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ssmkit
