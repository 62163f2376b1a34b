// ops::layer_norm on CUDA (the column-sum weight and bias gradients) against LibTorch's
// layer_norm in float64 on the CPU, at S4Model's shape: output and the three gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/ops/layer_norm.h"
#include "test_helpers.h"

namespace ssmkit::testing {
namespace {

TEST(LayerNormCuda, ColumnSumGradientsMatchTheCpuInFloat64) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(6);
  const at::Tensor x0 = torch::randn({64, 784, 128}, torch::kDouble) * 2.0 + 0.5;
  const at::Tensor w0 = torch::randn({128}, torch::kDouble);
  const at::Tensor b0 = torch::randn({128}, torch::kDouble);
  const at::Tensor upstream = torch::randn({64, 784, 128}, torch::kDouble);
  const auto run = [&](const torch::TensorOptions& options, bool cuda) {
    // Copies: to() of the CPU double reference would return x0 itself.
    const auto leaf = [&](const at::Tensor& t) { return t.to(options).clone().requires_grad_(); };
    at::Tensor x = leaf(x0), w = leaf(w0), b = leaf(b0);
    const at::Tensor y =
        cuda ? ops::layer_norm(x, w, b, 1e-5) : torch::layer_norm(x, {128}, w, b, 1e-5);
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
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_LT(relative_error(got[i], reference[i]), tolerance) << names[i] << " " << dtype;
  }
}

}  // namespace
}  // namespace ssmkit::testing
