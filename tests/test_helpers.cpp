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

}  // namespace ssmkit::testing
