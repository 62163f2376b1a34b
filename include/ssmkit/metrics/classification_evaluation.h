// Accuracy and macro-F1 over a validation or test pass of a classifier (logits (B, K), labels
// (B)), through a confusion matrix accumulated batch by batch; the matrix stays readable after the
// pass for reports.
#pragma once

#include <map>
#include <string>

#include "ssmkit/metrics/confusion_matrix.h"
#include "ssmkit/metrics/evaluation_metrics.h"

namespace ssmkit::metrics {

class ClassificationEvaluation : public EvaluationMetrics {
 public:
  explicit ClassificationEvaluation(int64_t num_classes) : matrix_(num_classes) {}

  void reset() override { matrix_.reset(); }
  void update(const at::Tensor& outputs,                  // (B, K) logits
              const at::Tensor& targets) override;        // (B) labels
  // {"accuracy", "macro_f1"}
  std::map<std::string, double> compute() override;

  const ConfusionMatrix& matrix() const { return matrix_; }

 private:
  ConfusionMatrix matrix_;
};

}  // namespace ssmkit::metrics
