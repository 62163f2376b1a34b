// Custom metrics computed over a validation or test pass (MSE, MAE, accuracy, ...): the trainer
// resets them, feeds every batch and reports compute()'s values per epoch.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ssmkit::metrics {

class EvaluationMetrics {
 public:
  virtual ~EvaluationMetrics() = default;
  virtual void reset() = 0;
  // outputs (B, ...) as the model returned them and targets (B, ...) from the batch, detached.
  virtual void update(const at::Tensor& outputs, const at::Tensor& targets) = 0;
  // Values by metric name, e.g. {"mse": .., "mae": ..}.
  virtual std::map<std::string, double> compute() = 0;
};

// Metrics that need the whole pass at once: keeps every batch's outputs and targets on the CPU
// and calls `fn` once with their concatenations along dimension 0.
class CollectingMetrics : public EvaluationMetrics {
 public:
  using Fn = std::function<std::map<std::string, double>(const at::Tensor& outputs,    // (N, ...)
                                                         const at::Tensor& targets)>;  // (N, ...)
  explicit CollectingMetrics(Fn fn);
  void reset() override;
  void update(const at::Tensor& outputs, const at::Tensor& targets) override;
  std::map<std::string, double> compute() override;

 private:
  Fn fn_;
  std::vector<at::Tensor> outputs_;
  std::vector<at::Tensor> targets_;
};

}  // namespace ssmkit::metrics
