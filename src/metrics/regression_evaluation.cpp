// MSE and MAE evaluation metrics.
#include "ssmkit/metrics/regression_evaluation.h"

namespace ssmkit::metrics {

void RegressionEvaluation::update(const at::Tensor& outputs, const at::Tensor& targets) {
  metrics_.update(outputs, targets);
}

std::map<std::string, double> RegressionEvaluation::compute() {
  return {{"mse", metrics_.mse()}, {"mae", metrics_.mae()}};
}

}  // namespace ssmkit::metrics
