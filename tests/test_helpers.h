// Helpers shared by the test suites: relative errors, paths to the shared data sets.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <string>

namespace ssmkit::testing {

// ||a - b|| / max(||b||, tiny), computed in float64. NaN anywhere gives +inf.
double relative_error(const at::Tensor& a, const at::Tensor& b);

// After a backward pass: every parameter of `module` has a defined, finite, non-zero gradient
// (GoogleTest failures name the parameter).
void expect_gradient_in_every_parameter(const torch::nn::Module& module);

// Path of a file under the repository's sibling folder ../shared/data, or "" when it is absent
// (tests then GTEST_SKIP with a message naming the file).
std::string shared_data_path(const std::string& relative);

}  // namespace ssmkit::testing
