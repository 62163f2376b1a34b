// ops::layer_norm on CUDA (the kernels of kernels/cuda/layer_norm for float32, LibTorch for
// float64) against LibTorch's layer_norm in float64 on the CPU: output and the three gradients,
// at S4Model's shape and at channel counts that leave lanes idle (96), take 2 and 8 float4 per
// lane (256, 1000), or that the kernels do not take (6, 1030).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "ssmkit/ops/layer_norm.h"
#include "ssmkit/util/checks.h"
#include "test_helpers.h"

namespace ssmkit::testing {
namespace {

void expect_like_the_cpu(const std::vector<int64_t>& shape) {
  const int64_t channels = shape.back();
  const at::Tensor x0 = torch::randn(shape, torch::kDouble) * 2.0 + 0.5;
  const at::Tensor w0 = torch::randn({channels}, torch::kDouble);
  const at::Tensor b0 = torch::randn({channels}, torch::kDouble);
  const at::Tensor upstream = torch::randn(shape, torch::kDouble);
  const auto run = [&](const torch::TensorOptions& options, bool cuda) {
    // Copies: to() of the CPU double reference would return x0 itself.
    const auto leaf = [&](const at::Tensor& t) { return t.to(options).clone().requires_grad_(); };
    at::Tensor x = leaf(x0), w = leaf(w0), b = leaf(b0);
    const at::Tensor y =
        cuda ? ops::layer_norm(x, w, b, 1e-5) : torch::layer_norm(x, {channels}, w, b, 1e-5);
    (y * upstream.to(options)).sum().backward();
    return std::vector<at::Tensor>{
        y.detach().cpu().to(torch::kDouble), x.grad().cpu().to(torch::kDouble),
        w.grad().cpu().to(torch::kDouble), b.grad().cpu().to(torch::kDouble)};
  };
  const auto reference = run(torch::TensorOptions(torch::kDouble), false);
  for (const auto dtype : {torch::kDouble, torch::kFloat}) {
    const auto got = run(torch::TensorOptions(dtype).device(torch::kCUDA), true);
    const double tolerance = dtype == torch::kDouble ? 1e-10 : 1e-4;
    const char* names[] = {"y", "grad x", "grad weight", "grad bias"};
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_LT(relative_error(got[i], reference[i]), tolerance)
          << names[i] << " " << dtype << " shape " << shape_string(shape);
    }
  }
}

TEST(LayerNormCuda, MatchesTheCpuInFloat64) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(6);
  expect_like_the_cpu({64, 784, 128});
  expect_like_the_cpu({3, 50, 96});
  expect_like_the_cpu({7000, 256});
  expect_like_the_cpu({5, 1000});
  expect_like_the_cpu({4, 9, 6});
  expect_like_the_cpu({3, 1030});
}

}  // namespace
}  // namespace ssmkit::testing
