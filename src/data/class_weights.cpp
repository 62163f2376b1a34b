// Inverse-frequency class weights.
#include "ssmkit/data/class_weights.h"

#include <torch/torch.h>

#include <algorithm>

#include "ssmkit/io/error.h"

namespace ssmkit::data {

std::vector<double> inverse_frequency_weights(const at::Tensor& labels, int64_t num_classes,
                                              double min_weight, double max_weight) {
  if (num_classes < 1) throw InputError("class weights: num_classes must be positive");
  const at::Tensor flat = labels.reshape({-1}).to(torch::kInt64).cpu();
  if (flat.numel() > 0 &&
      (flat.min().item<int64_t>() < 0 || flat.max().item<int64_t>() >= num_classes)) {
    throw InputError("class weights: labels must lie in [0, " + std::to_string(num_classes) + ")");
  }
  const at::Tensor counts = torch::bincount(flat, {}, num_classes).to(torch::kFloat64);
  double inverse_sum = 0.0;
  for (int64_t k = 0; k < num_classes; ++k) {
    const double n = counts[k].item<double>();
    if (n > 0) inverse_sum += 1.0 / n;
  }
  std::vector<double> weights(num_classes, max_weight);
  for (int64_t k = 0; k < num_classes; ++k) {
    const double n = counts[k].item<double>();
    if (n > 0) {
      weights[k] = std::clamp((1.0 / n) * static_cast<double>(num_classes) / inverse_sum,
                              min_weight, max_weight);
    }
  }
  return weights;
}

}  // namespace ssmkit::data
