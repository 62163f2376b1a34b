// Regression errors, accuracy and RegressionMetrics against plain float64 loops.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "ssmkit/metrics/metrics.h"

namespace ssmkit::metrics {
namespace {

struct Reference {
  std::vector<double> mse, mae;  // per channel
  double all_mse = 0.0, all_mae = 0.0;
};

// Plain loops over (N, H, C) in float64.
Reference reference_errors(const at::Tensor& predictions, const at::Tensor& targets) {
  const auto p = predictions.to(at::kDouble).contiguous();
  const auto t = targets.to(at::kDouble).contiguous();
  const int64_t n = p.size(0), h = p.size(1), c = p.size(2);
  const double* pp = p.data_ptr<double>();
  const double* tp = t.data_ptr<double>();
  Reference ref;
  ref.mse.assign(c, 0.0);
  ref.mae.assign(c, 0.0);
  for (int64_t i = 0; i < n * h; ++i) {
    for (int64_t k = 0; k < c; ++k) {
      const double d = pp[i * c + k] - tp[i * c + k];
      ref.mse[k] += d * d;
      ref.mae[k] += std::abs(d);
    }
  }
  for (int64_t k = 0; k < c; ++k) {
    ref.all_mse += ref.mse[k];
    ref.all_mae += ref.mae[k];
    ref.mse[k] /= static_cast<double>(n * h);
    ref.mae[k] /= static_cast<double>(n * h);
  }
  ref.all_mse /= static_cast<double>(n * h * c);
  ref.all_mae /= static_cast<double>(n * h * c);
  return ref;
}

TEST(Metrics, RegressionErrorsMatchFloat64Loops) {
  const auto predictions = torch::randn({7, 5, 3});
  const auto targets = torch::randn({7, 5, 3});
  const auto ref = reference_errors(predictions, targets);
  EXPECT_NEAR(mean_squared_error(predictions, targets), ref.all_mse, 1e-12);
  EXPECT_NEAR(mean_absolute_error(predictions, targets), ref.all_mae, 1e-12);
  EXPECT_NEAR(root_mean_squared_error(predictions, targets), std::sqrt(ref.all_mse), 1e-12);
  const auto mse = mean_squared_error_per_channel(predictions, targets);
  const auto mae = mean_absolute_error_per_channel(predictions, targets);
  const auto rmse = root_mean_squared_error_per_channel(predictions, targets);
  ASSERT_EQ(mse.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(mse[k], ref.mse[k], 1e-12);
    EXPECT_NEAR(mae[k], ref.mae[k], 1e-12);
    EXPECT_NEAR(rmse[k], std::sqrt(ref.mse[k]), 1e-12);
  }
}

TEST(Metrics, HandComputedValues) {
  // Errors 1, -2, 3, 0: squared 1, 4, 9, 0 (mean 3.5); absolute 1, 2, 3, 0 (mean 1.5).
  const auto predictions = torch::tensor({1.0, 0.0, 4.0, 2.0}).reshape({1, 2, 2});
  const auto targets = torch::tensor({0.0, 2.0, 1.0, 2.0}).reshape({1, 2, 2});
  EXPECT_DOUBLE_EQ(mean_squared_error(predictions, targets), 3.5);
  EXPECT_DOUBLE_EQ(mean_absolute_error(predictions, targets), 1.5);
  EXPECT_DOUBLE_EQ(root_mean_squared_error(predictions, targets), std::sqrt(3.5));
  // Channel 0 holds errors 1 and 3, channel 1 holds -2 and 0.
  EXPECT_EQ(mean_squared_error_per_channel(predictions, targets), (std::vector<double>{5.0, 2.0}));
  EXPECT_EQ(mean_absolute_error_per_channel(predictions, targets), (std::vector<double>{2.0, 1.0}));
}

TEST(Metrics, AccumulatorOverBatchesEqualsWholeTensor) {
  const auto predictions = torch::randn({10, 4, 2}, torch::kDouble);
  const auto targets = torch::randn({10, 4, 2}, torch::kDouble);
  RegressionMetrics metrics;
  metrics.update(predictions.slice(0, 0, 3), targets.slice(0, 0, 3));
  metrics.update(predictions.slice(0, 3, 4), targets.slice(0, 3, 4));
  metrics.update(predictions.slice(0, 4), targets.slice(0, 4));
  const auto ref = reference_errors(predictions, targets);
  EXPECT_EQ(metrics.count_per_channel(), 40);
  EXPECT_NEAR(metrics.mse(), ref.all_mse, 1e-12);
  EXPECT_NEAR(metrics.mae(), ref.all_mae, 1e-12);
  EXPECT_NEAR(metrics.rmse(), std::sqrt(ref.all_mse), 1e-12);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_NEAR(metrics.mse_per_channel()[k], ref.mse[k], 1e-12);
    EXPECT_NEAR(metrics.mae_per_channel()[k], ref.mae[k], 1e-12);
  }
  metrics.reset();
  EXPECT_EQ(metrics.count_per_channel(), 0);
  EXPECT_THROW(metrics.mse(), c10::Error);
}

TEST(Metrics, RejectsBadInput) {
  const auto a = torch::randn({2, 3, 4});
  try {
    mean_squared_error(a, torch::randn({2, 3, 5}));
    FAIL() << "expected a shape error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'predictions' has shape [2, 3, 4]"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(mean_squared_error_per_channel(torch::randn({2, 3}), torch::randn({2, 3})),
               c10::Error);
  EXPECT_THROW(mean_squared_error(torch::zeros({0, 3}), torch::zeros({0, 3})), c10::Error);
  EXPECT_THROW(mean_squared_error(torch::zeros({2}, torch::kLong), torch::zeros({2})), c10::Error);
  RegressionMetrics metrics;
  metrics.update(a, a);
  EXPECT_THROW(metrics.update(torch::randn({2, 3}), torch::randn({2, 3})), c10::Error);
}

TEST(Metrics, AccuracyFromLogitsAndLabels) {
  const auto targets = torch::tensor({0, 1, 2, 2, 1}, torch::kLong);
  const auto labels = torch::tensor({0, 2, 2, 2, 0}, torch::kLong);
  EXPECT_DOUBLE_EQ(accuracy(labels, targets), 0.6);
  // Logits whose argmax are the labels above.
  auto logits = torch::full({5, 3}, -1.0);
  for (int64_t i = 0; i < 5; ++i)
    logits[i][labels[i].item<int64_t>()] = 3.0;
  EXPECT_DOUBLE_EQ(accuracy(logits, targets), 0.6);
  EXPECT_DOUBLE_EQ(accuracy(logits, targets.to(torch::kInt)), 0.6);
  // Sequence labelling: (N, L, K) logits against (N, L) targets.
  const auto sequence_logits = torch::randn({4, 6, 5});
  const auto sequence_targets = torch::randint(0, 5, {4, 6}, torch::kLong);
  const double expected =
      sequence_logits.argmax(-1).eq(sequence_targets).to(torch::kDouble).mean().item<double>();
  EXPECT_DOUBLE_EQ(accuracy(sequence_logits, sequence_targets), expected);
}

TEST(Metrics, AccuracyRejectsBadInput) {
  const auto targets = torch::tensor({0, 1}, torch::kLong);
  EXPECT_THROW(accuracy(torch::randn({3, 4}), targets), c10::Error);            // N mismatch
  EXPECT_THROW(accuracy(torch::randn({2}), targets), c10::Error);               // float labels
  EXPECT_THROW(accuracy(torch::randn({2, 4}), torch::randn({2})), c10::Error);  // float targets
  EXPECT_THROW(accuracy(torch::randn({2, 3, 4}), targets), c10::Error);         // rank
}

}  // namespace
}  // namespace ssmkit::metrics
