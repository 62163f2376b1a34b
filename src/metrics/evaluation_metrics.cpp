// Whole-pass metrics adapter.
#include "ssmkit/metrics/evaluation_metrics.h"

#include <torch/torch.h>

namespace ssmkit::metrics {

CollectingMetrics::CollectingMetrics(Fn fn) : fn_(std::move(fn)) {
  TORCH_CHECK(static_cast<bool>(fn_), "CollectingMetrics: the metrics function is empty");
}

void CollectingMetrics::reset() {
  outputs_.clear();
  targets_.clear();
}

void CollectingMetrics::update(const at::Tensor& outputs, const at::Tensor& targets) {
  outputs_.push_back(outputs.detach().to(torch::kCPU, torch::kFloat32));
  if (targets.defined()) targets_.push_back(targets.detach().cpu());
}

std::map<std::string, double> CollectingMetrics::compute() {
  if (outputs_.empty()) return {};
  const auto outputs = torch::cat(outputs_, 0);
  const auto targets = targets_.empty() ? at::Tensor() : torch::cat(targets_, 0);
  return fn_(outputs, targets);
}

}  // namespace ssmkit::metrics
