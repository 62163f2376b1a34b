// Helpers shared by the test suites: relative errors, paths to the shared data sets.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <functional>
#include <string>
#include <vector>

namespace ssmkit::testing {

// ||a - b|| / max(||b||, tiny), computed in float64. NaN anywhere gives +inf.
double relative_error(const at::Tensor& a, const at::Tensor& b);

// After a backward pass: every parameter of `module` has a defined, finite, non-zero gradient
// (GoogleTest failures name the parameter).
void expect_gradient_in_every_parameter(const torch::nn::Module& module);

// Path of a file under the repository's sibling folder ../shared/data, or "" when it is absent
// (tests then GTEST_SKIP with a message naming the file).
std::string shared_data_path(const std::string& relative);

// f's output and the gradients of its inputs marked differentiable, for copies of `inputs` moved
// to `options` (undefined inputs stay undefined; their gradients come back undefined), with
// `upstream` as the output's gradient. Everything comes back on the CPU in float64: run once on
// the CPU in float64 as the reference, once on the device under test.
std::vector<at::Tensor> output_and_gradients(
    const std::function<at::Tensor(const std::vector<at::Tensor>&)>& f,
    const std::vector<at::Tensor>& inputs, const std::vector<bool>& differentiable,
    const at::Tensor& upstream, const at::TensorOptions& options);

}  // namespace ssmkit::testing
