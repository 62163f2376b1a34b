// Shared by the libFuzzer targets: run a parser on the input, accept InputError (bad input is
// expected), let anything else escape so libFuzzer reports it as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "ssmkit/io/error.h"

namespace ssmkit::fuzz {

constexpr const char* kOrigin = "fuzz-input";

template <typename Body>
int run_parser(const uint8_t* data, size_t size, Body body) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    body(bytes);
  } catch (const ssmkit::InputError&) {
  }
  return 0;
}

// Aborts (a finding) when a property that must hold does not.
inline void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace ssmkit::fuzz
