// ops::layer_norm's column-sum gradients against LibTorch's layer_norm in float64: the output and
// the gradients of the input, the weight and the bias, for a (B, L, H) input and a 2-D one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/ops/layer_norm.h"
#include "test_helpers.h"

namespace {

using ssmkit::testing::relative_error;

void expect_like_libtorch(const std::vector<int64_t>& shape) {
  torch::manual_seed(4);
  const int64_t channels = shape.back();
  const auto options = torch::TensorOptions(torch::kFloat64);
  const at::Tensor x0 = torch::randn(shape, options) * 3.0 + 1.0;
  const at::Tensor w0 = torch::randn({channels}, options);
  const at::Tensor b0 = torch::randn({channels}, options);
  const at::Tensor upstream = torch::randn(shape, options);
  const auto run = [&](bool ours) {
    at::Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_(),
               b = b0.clone().requires_grad_();
    const at::Tensor y = ours ? ssmkit::ops::layer_norm_column_sum_gradients(x, w, b, 1e-5)
                              : torch::layer_norm(x, {channels}, w, b, 1e-5);
    (y * upstream).sum().backward();
    return std::vector<at::Tensor>{y.detach(), x.grad(), w.grad(), b.grad()};
  };
  const auto ours = run(true), reference = run(false);
  const char* names[] = {"y", "grad x", "grad weight", "grad bias"};
  for (size_t i = 0; i < ours.size(); ++i)
    EXPECT_LT(relative_error(ours[i], reference[i]), 1e-12) << names[i];
}

TEST(LayerNorm, ColumnSumGradientsMatchLibTorchInFloat64) {
  expect_like_libtorch({3, 17, 8});
  expect_like_libtorch({5, 6});
}

TEST(LayerNorm, WrongParameterShapesAreNamed) {
  const at::Tensor x = torch::randn({2, 3, 4});
  EXPECT_THAT([&] { ssmkit::ops::layer_norm(x, torch::ones({5}), torch::zeros({4}), 1e-5); },
              ::testing::ThrowsMessage<c10::Error>(::testing::HasSubstr("weight")));
  // The CPU path is LibTorch's: the same numbers.
  const at::Tensor w = torch::randn({4}), b = torch::randn({4});
  EXPECT_TRUE(
      torch::equal(ssmkit::ops::layer_norm(x, w, b, 1e-5), torch::layer_norm(x, {4}, w, b, 1e-5)));
}

}  // namespace
