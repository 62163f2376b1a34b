// ConfusionMatrix accumulation and per-class metrics against hand-computed values.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "metrics/sklearn_example.h"
#include "ssmkit/metrics/confusion_matrix.h"

namespace ssmkit::metrics {
namespace {

using testing::sklearn_docs_example;

TEST(ConfusionMatrix, CountsRowsTrueColumnsPredicted) {
  const auto matrix = sklearn_docs_example();
  const auto expected = torch::tensor({1, 0, 0, 1, 0, 0, 0, 1, 2}, torch::kLong).reshape({3, 3});
  EXPECT_TRUE(torch::equal(matrix.to_tensor(), expected)) << matrix.to_tensor();
  EXPECT_EQ(matrix.count(2, 1), 1);
  EXPECT_EQ(matrix.total(), 5);
  EXPECT_EQ(matrix.correct(), 3);
  EXPECT_DOUBLE_EQ(matrix.accuracy(), 0.6);
}

TEST(ConfusionMatrix, PerClassAndAveragesMatchHandComputedValues) {
  const auto matrix = sklearn_docs_example();
  // class 0: tp 1, fp 1, fn 0; class 1: tp 0, fp 1, fn 1; class 2: tp 2, fp 0, fn 1.
  const auto per_class = matrix.per_class();
  EXPECT_DOUBLE_EQ(per_class[0].precision, 0.5);
  EXPECT_DOUBLE_EQ(per_class[0].recall, 1.0);
  EXPECT_DOUBLE_EQ(per_class[0].f1, 2.0 / 3.0);
  EXPECT_EQ(per_class[0].support, 1);
  EXPECT_DOUBLE_EQ(per_class[1].precision, 0.0);
  EXPECT_DOUBLE_EQ(per_class[1].recall, 0.0);
  EXPECT_DOUBLE_EQ(per_class[1].f1, 0.0);
  EXPECT_DOUBLE_EQ(per_class[2].precision, 1.0);
  EXPECT_DOUBLE_EQ(per_class[2].recall, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(per_class[2].f1, 0.8);
  EXPECT_EQ(per_class[2].support, 3);
  const auto macro = matrix.macro_average();
  EXPECT_NEAR(macro.precision, 0.5, 1e-15);
  EXPECT_NEAR(macro.recall, (1.0 + 2.0 / 3.0) / 3.0, 1e-15);
  EXPECT_NEAR(macro.f1, (2.0 / 3.0 + 0.8) / 3.0, 1e-15);
  EXPECT_EQ(macro.support, 5);
  const auto weighted = matrix.weighted_average();
  EXPECT_NEAR(weighted.precision, 0.7, 1e-15);
  EXPECT_NEAR(weighted.recall, 0.6, 1e-15);
  EXPECT_NEAR(weighted.f1, (2.0 / 3.0 + 3 * 0.8) / 5.0, 1e-15);
}

TEST(ConfusionMatrix, ZeroDivisionGivesZero) {
  ConfusionMatrix empty(4);
  EXPECT_EQ(empty.total(), 0);
  EXPECT_DOUBLE_EQ(empty.accuracy(), 0.0);
  for (const auto& metrics : empty.per_class()) {
    EXPECT_EQ(metrics.precision, 0.0);
    EXPECT_EQ(metrics.recall, 0.0);
    EXPECT_EQ(metrics.f1, 0.0);
  }
  EXPECT_EQ(empty.weighted_average().precision, 0.0);
  // A class never predicted and never true.
  ConfusionMatrix matrix(3);
  matrix.update(torch::tensor({0, 1}, torch::kLong), torch::tensor({0, 1}, torch::kLong));
  EXPECT_EQ(matrix.class_metrics(2).precision, 0.0);
  EXPECT_EQ(matrix.class_metrics(2).support, 0);
  EXPECT_NEAR(matrix.macro_average().recall, 2.0 / 3.0, 1e-15);  // sklearn counts it in the mean
  EXPECT_DOUBLE_EQ(matrix.weighted_average().recall, 1.0);
}

TEST(ConfusionMatrix, LogitsAndBatchesAccumulateLikeOneCall) {
  const int64_t k = 5;
  const auto logits = torch::randn({37, k});
  const auto targets = torch::randint(0, k, {37}, torch::kLong);
  ConfusionMatrix batched(k);
  batched.update(logits.slice(0, 0, 20), targets.slice(0, 0, 20));
  batched.update(logits.slice(0, 20), targets.slice(0, 20).to(torch::kInt));
  ConfusionMatrix reference(k);
  const auto predicted = logits.argmax(1);
  for (int64_t i = 0; i < 37; ++i) {
    reference.update(predicted.slice(0, i, i + 1), targets.slice(0, i, i + 1));
  }
  EXPECT_TRUE(torch::equal(batched.to_tensor(), reference.to_tensor()));
  // Plain loop over the same pairs.
  auto counts = torch::zeros({k, k}, torch::kLong);
  for (int64_t i = 0; i < 37; ++i) {
    counts[targets[i].item<int64_t>()][predicted[i].item<int64_t>()] += 1;
  }
  EXPECT_TRUE(torch::equal(batched.to_tensor(), counts));
  batched.reset();
  EXPECT_EQ(batched.total(), 0);
}

TEST(ConfusionMatrix, RejectsBadInput) {
  ConfusionMatrix matrix(3);
  try {
    matrix.update(torch::tensor({0, 1}, torch::kLong), torch::tensor({0, 3}, torch::kLong));
    FAIL() << "expected an out-of-range error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'targets' holds label 3, expected labels in [0, 3)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(
      matrix.update(torch::tensor({-1, 1}, torch::kLong), torch::tensor({0, 1}, torch::kLong)),
      c10::Error);
  EXPECT_THROW(matrix.update(torch::randn({2, 4}), torch::tensor({0, 1}, torch::kLong)),
               c10::Error);  // 4 logits for 3 classes
  EXPECT_THROW(ConfusionMatrix(0), c10::Error);
  EXPECT_EQ(matrix.total(), 0);  // failed updates add nothing
}

}  // namespace
}  // namespace ssmkit::metrics
