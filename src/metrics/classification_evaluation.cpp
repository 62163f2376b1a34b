// Accuracy and macro-F1 over a pass.
#include "ssmkit/metrics/classification_evaluation.h"

namespace ssmkit::metrics {

void ClassificationEvaluation::update(const at::Tensor& outputs, const at::Tensor& targets) {
  matrix_.update(outputs, targets);
}

std::map<std::string, double> ClassificationEvaluation::compute() {
  return {{"accuracy", matrix_.accuracy()}, {"macro_f1", matrix_.macro_average().f1}};
}

}  // namespace ssmkit::metrics
