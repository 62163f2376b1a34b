// GELU's gradient is right even when the gradient flowing into it is non-contiguous.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/nn/activations.h"
#include "test_helpers.h"

namespace {

TEST(Gelu, GradientCorrectForNonContiguousUpstreamGradient) {
  constexpr double kInvSqrt2 = 0.70710678118654752;
  constexpr double kInvSqrt2Pi = 0.39894228040143268;
  for (int trial = 0; trial < 10; ++trial) {
    // float32: the affected backward is the vectorised float kernel.
    at::Tensor x = torch::randn({2, 4, 9}, torch::requires_grad());
    at::Tensor upstream = torch::randn({2, 9, 4}).transpose(1, 2);
    at::Tensor y = ssmkit::nn::gelu(x);
    EXPECT_TRUE(torch::equal(y, torch::gelu(x)));
    at::Tensor grad = torch::autograd::grad({y}, {x}, {upstream})[0];
    at::Tensor xd = x.detach().to(torch::kDouble);
    // d/dx [x Phi(x)] = Phi(x) + x phi(x)
    at::Tensor derivative =
        0.5 * (1 + torch::erf(xd * kInvSqrt2)) + xd * kInvSqrt2Pi * torch::exp(-0.5 * xd * xd);
    EXPECT_LT(ssmkit::testing::relative_error(grad, derivative * upstream), 1e-6);
  }
}

}  // namespace
