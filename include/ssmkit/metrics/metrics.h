// Regression and classification metrics: whole-tensor functions and a streaming accumulator that
// evaluates a model batch by batch. Sums are kept in float64 so long evaluations stay exact.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace ssmkit::metrics {

// Mean of (prediction - target)^2, |prediction - target| and the square root of the former, over
// every element. Shapes must match; at least one element.
double mean_squared_error(const at::Tensor& predictions,       // (N, ...)
                          const at::Tensor& targets);          // (N, ...)
double mean_absolute_error(const at::Tensor& predictions,      // (N, ...)
                           const at::Tensor& targets);         // (N, ...)
double root_mean_squared_error(const at::Tensor& predictions,  // (N, ...)
                               const at::Tensor& targets);     // (N, ...)
// Coefficient of determination as sklearn's r2_score: 1 - SS_res / SS_tot over every element, in
// float64; 1 for a perfect fit of a constant target (SS_tot = 0), else 0 there.
double r2_score(const at::Tensor& predictions,  // (N, ...)
                const at::Tensor& targets);     // (N, ...)

// The same errors for a forecast, one value per channel (averaged over windows and horizon).
std::vector<double> mean_squared_error_per_channel(const at::Tensor& predictions,       // (N, H, C)
                                                   const at::Tensor& targets);          // (N, H, C)
std::vector<double> mean_absolute_error_per_channel(const at::Tensor& predictions,      // (N, H, C)
                                                    const at::Tensor& targets);         // (N, H, C)
std::vector<double> root_mean_squared_error_per_channel(const at::Tensor& predictions,  // (N, H, C)
                                                        const at::Tensor& targets);     // (N, H, C)

// Predicted class labels on the CPU as int64. `predictions` are either logits with one more
// dimension than `targets` (argmax over the last one) or labels of the same shape as `targets`.
// `fn` names the caller in error messages.
at::Tensor predicted_labels(const at::Tensor& predictions,  // (N, ..., K) logits or (N, ...) labels
                            const at::Tensor& targets,      // (N, ...) integer labels
                            const char* fn);

// Fraction of predicted labels that equal the targets (predictions as for predicted_labels).
double accuracy(const at::Tensor& predictions,  // (N, ..., K) logits or (N, ...) labels
                const at::Tensor& targets);     // (N, ...) integer labels

// Accumulates squared and absolute errors over batches. The last dimension holds the channels;
// every update must have the same number of channels.
class RegressionMetrics {
 public:
  void update(const at::Tensor& predictions,  // (N, ..., C)
              const at::Tensor& targets);     // (N, ..., C)
  void reset();

  // Number of values seen per channel.
  int64_t count_per_channel() const { return count_per_channel_; }
  int64_t num_channels() const { return static_cast<int64_t>(squared_error_sum_.size()); }

  // Errors over every value seen. Throw when nothing was accumulated.
  double mse() const;
  double mae() const;
  double rmse() const;
  std::vector<double> mse_per_channel() const;
  std::vector<double> mae_per_channel() const;
  std::vector<double> rmse_per_channel() const;

 private:
  void check_not_empty() const;

  std::vector<double> squared_error_sum_;   // (C)
  std::vector<double> absolute_error_sum_;  // (C)
  int64_t count_per_channel_ = 0;
};

}  // namespace ssmkit::metrics
