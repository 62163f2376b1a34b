// Accuracy and macro-F1 over batches equal scikit-learn's on the concatenated pass.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/metrics/classification_evaluation.h"

namespace ssmkit::metrics {
namespace {

TEST(ClassificationEvaluation, AccuracyAndMacroF1OverBatches) {
  // y_true [0, 1, 2, 2, 1, 0], y_pred [0, 2, 2, 2, 1, 1]: sklearn accuracy 4/6, macro F1
  // mean(2/3, 1/2, 4/5).
  ClassificationEvaluation evaluation(3);
  evaluation.update(torch::tensor({0, 2, 2}), torch::tensor({0, 1, 2}));
  evaluation.update(torch::one_hot(torch::tensor({2, 1, 1}), 3).to(torch::kFloat32),
                    torch::tensor({2, 1, 0}));
  const auto values = evaluation.compute();
  EXPECT_NEAR(values.at("accuracy"), 4.0 / 6.0, 1e-12);
  EXPECT_NEAR(values.at("macro_f1"), (2.0 / 3.0 + 0.5 + 0.8) / 3.0, 1e-12);
  evaluation.reset();
  EXPECT_EQ(evaluation.matrix().total(), 0);
}

}  // namespace
}  // namespace ssmkit::metrics
