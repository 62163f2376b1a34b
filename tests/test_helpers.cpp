// Helpers shared by the test suites.
#include "test_helpers.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <limits>

namespace ssmkit::testing {

double relative_error(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor a64 = a.detach().to(at::kCPU).to(at::kDouble);
  at::Tensor b64 = b.detach().to(at::kCPU).to(at::kDouble);
  if (!torch::isfinite(a64).all().item<bool>()) return std::numeric_limits<double>::infinity();
  const double denom = std::max(b64.norm().item<double>(), 1e-300);
  return (a64 - b64).norm().item<double>() / denom;
}

void expect_gradient_in_every_parameter(const torch::nn::Module& module) {
  for (const auto& p : module.named_parameters()) {
    const at::Tensor& grad = p.value().grad();
    ASSERT_TRUE(grad.defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(grad).all().item<bool>()) << p.key();
    EXPECT_GT(grad.abs().sum().item<double>(), 0.0) << p.key();
  }
}

std::string shared_data_path(const std::string& relative) {
  const std::filesystem::path path =
      std::filesystem::path(SSMKIT_SOURCE_DIR) / ".." / "shared" / "data" / relative;
  return std::filesystem::exists(path) ? path.string() : std::string();
}

std::vector<at::Tensor> output_and_gradients(
    const std::function<at::Tensor(const std::vector<at::Tensor>&)>& f,
    const std::vector<at::Tensor>& inputs, const std::vector<bool>& differentiable,
    const at::Tensor& upstream, const at::TensorOptions& options) {
  std::vector<at::Tensor> copies;
  for (size_t i = 0; i < inputs.size(); ++i) {
    // clone(): to() of a tensor already in `options` would return the caller's tensor itself.
    at::Tensor c = inputs[i].defined() ? inputs[i].to(options).clone() : at::Tensor();
    if (c.defined() && differentiable[i]) c.requires_grad_();
    copies.push_back(c);
  }
  const at::Tensor y = f(copies);
  (y * upstream.to(options)).sum().backward();
  const auto to_reference = [](const at::Tensor& t) {
    return t.defined() ? t.detach().cpu().to(torch::kDouble) : at::Tensor();
  };
  std::vector<at::Tensor> out = {to_reference(y)};
  for (size_t i = 0; i < copies.size(); ++i) {
    if (differentiable[i])
      out.push_back(copies[i].defined() ? to_reference(copies[i].grad()) : at::Tensor());
  }
  return out;
}

}  // namespace ssmkit::testing
