// MSE and MAE over a whole validation or test pass, accumulated batch by batch in float64
// (metrics.h's RegressionMetrics), for Trainer::set_evaluation_metrics: reported as
// "<phase>_mse" and "<phase>_mae".
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

#include "ssmkit/metrics/evaluation_metrics.h"
#include "ssmkit/metrics/metrics.h"

namespace ssmkit::metrics {

class RegressionEvaluation : public EvaluationMetrics {
 public:
  void reset() override { metrics_.reset(); }
  void update(const at::Tensor& outputs,            // (B, ..., C)
              const at::Tensor& targets) override;  // (B, ..., C)
  std::map<std::string, double> compute() override;

 private:
  RegressionMetrics metrics_;
};

}  // namespace ssmkit::metrics
