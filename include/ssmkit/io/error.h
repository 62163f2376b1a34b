// The error type for bad input: malformed files, wrong shapes, bad flags. Programs catch it and
// print its message alone (no backtrace), then exit non-zero.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace ssmkit {

// Thrown for any user-facing input problem. The message names the file or flag, the position
// (line, byte offset) when known, and what was expected. An error about one field of a config
// carries that field's key, so that a program can name the flag that set it.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message, std::string key = "")
      : std::runtime_error(message), key_(std::move(key)) {}

  // The config field the error is about ("seq_len"), or empty.
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

}  // namespace ssmkit
