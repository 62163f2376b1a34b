// scikit-learn's documentation example for classification metrics, shared by the metrics and the
// report suites: y_true = [0, 1, 2, 2, 2], y_pred = [0, 0, 2, 2, 1].
#pragma once

#include <torch/torch.h>

#include "ssmkit/metrics/confusion_matrix.h"

namespace ssmkit::testing {

inline metrics::ConfusionMatrix sklearn_docs_example() {
  metrics::ConfusionMatrix matrix(3);
  matrix.update(torch::tensor({0, 0, 2, 2, 1}, torch::kLong),
                torch::tensor({0, 1, 2, 2, 2}, torch::kLong));
  return matrix;
}

}  // namespace ssmkit::testing
