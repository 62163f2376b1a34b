// Helpers for the I/O suites: a temporary folder removed at the end of the test, file writing, and
// a check that a call throws InputError whose message names what it should.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <random>
#include <string>

#include "ssmkit/io/error.h"
#include "test_temp_dir.h"

namespace ssmkit::testing {

inline std::string write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// Runs `call` and checks it throws ssmkit::InputError whose message contains every fragment.
template <typename Call>
void expect_input_error(Call&& call, std::initializer_list<std::string> fragments) {
  try {
    call();
    ADD_FAILURE() << "expected ssmkit::InputError, nothing was thrown";
  } catch (const ssmkit::InputError& e) {
    const std::string message = e.what();
    for (const std::string& fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos)
          << "message \"" << message << "\" lacks \"" << fragment << "\"";
    }
  }
}

}  // namespace ssmkit::testing
