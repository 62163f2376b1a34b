// Helpers shared by the test suites: relative errors, paths to the shared data sets.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace ssmkit::testing {

// ||a - b|| / max(||b||, tiny), computed in float64. NaN anywhere gives +inf.
double relative_error(const at::Tensor& a, const at::Tensor& b);

// Path of a file under the repository's sibling folder ../shared/data, or "" when it is absent
// (tests then GTEST_SKIP with a message naming the file).
std::string shared_data_path(const std::string& relative);

}  // namespace ssmkit::testing
