// Class weights for a cross-entropy loss on imbalanced labels: inverse class frequency, scaled so
// the weights sum to the number of classes (a balanced set gets all ones), then clipped so that a
// class with one or two examples cannot dominate the loss (ECG5000's training split is
// 292/177/10/19/2).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace ssmkit::data {

inline constexpr double kMinClassWeight = 0.1;
inline constexpr double kMaxClassWeight = 10.0;

// w_k = (1 / n_k) * K / sum_j (1 / n_j) over the classes present, clipped to [min, max]; a class
// without examples gets max. Labels must lie in [0, num_classes).
std::vector<double> inverse_frequency_weights(const at::Tensor& labels,  // (N) int64
                                              int64_t num_classes, double min_weight = kMinClassWeight,
                                              double max_weight = kMaxClassWeight);

}  // namespace ssmkit::data
