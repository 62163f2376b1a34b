// RMSNorm against its formula in float64, its learnable scale, half precision and bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/nn/rms_norm.h"
#include "test_helpers.h"

namespace {

using ssmkit::nn::RMSNorm;

TEST(RMSNorm, MatchesFormulaWithScale) {
  constexpr double kEps = 1e-3;  // large enough to matter in the check
  RMSNorm norm(6, kEps);
  norm->to(torch::kDouble);
  {
    torch::NoGradGuard g;
    norm->weight.uniform_(0.5, 2.0);
  }
  at::Tensor x = torch::randn({3, 4, 6}, torch::kDouble) * 0.1;
  at::Tensor expected = x / torch::sqrt(x.pow(2).mean(-1, true) + kEps) * norm->weight;
  EXPECT_LT(ssmkit::testing::relative_error(norm(x), expected), 1e-14);
}

TEST(RMSNorm, ScaleLearnsAndHalfPrecisionStaysFinite) {
  RMSNorm norm(5);
  at::Tensor x = torch::randn({2, 5});
  norm(x).sum().backward();
  ASSERT_TRUE(norm->weight.grad().defined());
  EXPECT_GT(norm->weight.grad().abs().sum().item<double>(), 0.0);
  // Squares of 300 overflow float16's range; the norm is computed in float32.
  at::Tensor big = torch::full({1, 5}, 300.0, torch::kHalf);
  torch::NoGradGuard g;
  RMSNorm half_norm(5);
  half_norm->to(torch::kHalf);
  at::Tensor y = half_norm(big);
  EXPECT_EQ(y.scalar_type(), torch::kHalf);
  EXPECT_TRUE(torch::allclose(y.to(torch::kFloat), torch::ones({1, 5}), 1e-3, 1e-3));
}

TEST(RMSNorm, BadInputNamed) {
  RMSNorm norm(4);
  try {
    norm(torch::randn({2, 3}));
    ADD_FAILURE();
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace())
                  .find("RMSNorm: 'x' has shape [2, 3], expected (..., dim) with dim = 4"),
              std::string::npos)
        << e.what_without_backtrace();
  }
  EXPECT_THROW(RMSNorm(0), ssmkit::InputError);
}

}  // namespace
