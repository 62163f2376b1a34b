// RevIN: statistics against a plain loop, normalise/denormalise round trips, affine and
// subtract-last variants, detached statistics, input checks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "ssmkit/nn/revin.h"
#include "test_helpers.h"

namespace {

using ssmkit::nn::RevIN;
using ssmkit::nn::RevINOptions;
using ssmkit::testing::relative_error;

// Series with per-(b, c) offsets and scales far from 0 and 1, so normalising matters.
at::Tensor offset_series(int64_t b, int64_t l, int64_t c) {
  return torch::randn({b, l, c}, torch::kDouble) *
             (torch::rand({b, 1, c}, torch::kDouble) * 5 + 0.1) +
         torch::randn({b, 1, c}, torch::kDouble) * 10;
}

TEST(RevIN, StatisticsMatchPlainLoop) {
  const int64_t B = 3, L = 17, C = 4;
  const double eps = 1e-5;
  RevIN revin(RevINOptions{C, eps, false, false});
  const at::Tensor x = offset_series(B, L, C);
  const auto out = revin->normalize(x);
  auto xa = x.accessor<double, 3>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t c = 0; c < C; ++c) {
      double mean = 0;
      for (int64_t t = 0; t < L; ++t)
        mean += xa[b][t][c];
      mean /= L;
      double var = 0;
      for (int64_t t = 0; t < L; ++t)
        var += (xa[b][t][c] - mean) * (xa[b][t][c] - mean);
      const double scale = std::sqrt(var / L + eps);
      EXPECT_NEAR(out.stats.center[b][0][c].item<double>(), mean, 1e-12);
      EXPECT_NEAR(out.stats.scale[b][0][c].item<double>(), scale, 1e-12);
      for (int64_t t = 0; t < L; ++t) {
        EXPECT_NEAR(out.values[b][t][c].item<double>(), (xa[b][t][c] - mean) / scale, 1e-12);
      }
    }
  }
}

TEST(RevIN, RoundTripRestoresInputForEveryVariant) {
  for (bool affine : {false, true}) {
    for (bool subtract_last : {false, true}) {
      RevIN revin(RevINOptions{5, 1e-5, affine, subtract_last});
      revin->to(torch::kDouble);
      if (affine) {
        torch::NoGradGuard no_grad;
        // Weights in [1.5, 2.5): randn + 2 lands near zero now and then, where the eps^2 / weight
        // error below passes the tolerance (a clean-clone run failed with 2.7e-9).
        for (auto& p : revin->parameters())
          p.copy_(torch::rand_like(p) + 1.5);
      }
      const at::Tensor x = offset_series(2, 23, 5);
      const auto out = revin->normalize(x);
      const at::Tensor back = revin->denormalize(out.values, out.stats);
      // Affine denormalising divides by weight + eps^2 (as RevIN), an error of about eps^2 /
      // weight.
      const double tolerance = affine ? 1e-9 : 1e-12;
      EXPECT_LT(relative_error(back, x), tolerance)
          << "affine " << affine << " last " << subtract_last;
      if (subtract_last && !affine) {
        EXPECT_LT(out.values.select(1, 22).abs().max().item<double>(), 1e-12);
      }
    }
  }
}

TEST(RevIN, DenormalizeAppliesStatisticsToAForecastOfAnotherLength) {
  RevIN revin(RevINOptions{3, 1e-5, false, false});
  const at::Tensor x = offset_series(2, 10, 3).to(torch::kFloat);
  const auto out = revin->normalize(x);
  const at::Tensor y = torch::randn({2, 6, 3});
  const at::Tensor expected = y * out.stats.scale + out.stats.center;
  EXPECT_LT(relative_error(revin->denormalize(y, out.stats), expected), 1e-6);
}

TEST(RevIN, StatisticsAreConstantsForTheGradient) {
  RevIN revin(RevINOptions{2, 1e-5, false, false});
  const at::Tensor x = offset_series(2, 8, 2).requires_grad_(true);
  const auto out = revin->normalize(x);
  out.values.sum().backward();
  const at::Tensor expected = (1.0 / out.stats.scale).expand_as(x);
  EXPECT_LT(relative_error(x.grad(), expected), 1e-12);
}

TEST(RevIN, RejectsWrongChannelCountNamingTheTensor) {
  RevIN revin(RevINOptions{4, 1e-5, false, false});
  try {
    revin->normalize(torch::randn({2, 8, 3}));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    EXPECT_NE(msg.find("'x' has shape [2, 8, 3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(B, L, C) = [*, *, 4]"), std::string::npos) << msg;
  }
}

}  // namespace
