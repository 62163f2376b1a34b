// Regression errors, accuracy and the streaming RegressionMetrics accumulator.
#include "ssmkit/metrics/metrics.h"

#include <torch/torch.h>

#include <cmath>

#include "ssmkit/util/checks.h"

namespace ssmkit::metrics {
namespace {

void check_regression_pair(const at::Tensor& predictions,  // (N, ...)
                           const at::Tensor& targets,      // (N, ...)
                           const char* fn) {
  check_defined(predictions, fn, "predictions");
  check_defined(targets, fn, "targets");
  check_dtype(predictions, fn, "predictions", {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16});
  check_dtype(targets, fn, "targets", {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16});
  check_same_device(targets, predictions, fn, "targets", "predictions");
  TORCH_CHECK(predictions.sizes() == targets.sizes(), fn, ": 'predictions' has shape ",
              shape_string(predictions.sizes()), " but 'targets' has shape ",
              shape_string(targets.sizes()), "; they must match");
  TORCH_CHECK(predictions.dim() >= 1 && predictions.numel() > 0, fn,
              ": 'predictions' is empty (shape ", shape_string(predictions.sizes()), ")");
}

RegressionMetrics accumulate_forecast(const at::Tensor& predictions,  // (N, H, C)
                                      const at::Tensor& targets,      // (N, H, C)
                                      const char* fn) {
  check_shape(predictions, fn, "predictions", "(N, H, C)", {-1, -1, -1});
  check_shape(targets, fn, "targets", "(N, H, C)", {-1, -1, -1});
  RegressionMetrics metrics;
  metrics.update(predictions, targets);
  return metrics;
}

RegressionMetrics accumulate_all(const at::Tensor& predictions,  // (N, ...)
                                 const at::Tensor& targets,      // (N, ...)
                                 const char* fn) {
  check_regression_pair(predictions, targets, fn);
  // One channel: the overall error does not depend on how values are grouped.
  RegressionMetrics metrics;
  metrics.update(predictions.reshape({-1, 1}), targets.reshape({-1, 1}));
  return metrics;
}

std::vector<double> to_vector(const at::Tensor& values) {  // (C) float64 on the CPU
  const auto contiguous = values.contiguous();
  const double* data = contiguous.data_ptr<double>();
  return std::vector<double>(data, data + contiguous.numel());
}

}  // namespace

double mean_squared_error(const at::Tensor& predictions, const at::Tensor& targets) {
  return accumulate_all(predictions, targets, "mean_squared_error").mse();
}

double mean_absolute_error(const at::Tensor& predictions, const at::Tensor& targets) {
  return accumulate_all(predictions, targets, "mean_absolute_error").mae();
}

double root_mean_squared_error(const at::Tensor& predictions, const at::Tensor& targets) {
  return accumulate_all(predictions, targets, "root_mean_squared_error").rmse();
}

double r2_score(const at::Tensor& predictions, const at::Tensor& targets) {
  const double residual = accumulate_all(predictions, targets, "r2_score").mse();
  const at::Tensor y = targets.detach().to(at::kDouble);
  const double total = (y - y.mean()).pow(2).mean().item<double>();
  if (total == 0.0) return residual == 0.0 ? 1.0 : 0.0;
  return 1.0 - residual / total;
}

std::vector<double> mean_squared_error_per_channel(const at::Tensor& predictions,
                                                   const at::Tensor& targets) {
  return accumulate_forecast(predictions, targets, "mean_squared_error_per_channel")
      .mse_per_channel();
}

std::vector<double> mean_absolute_error_per_channel(const at::Tensor& predictions,
                                                    const at::Tensor& targets) {
  return accumulate_forecast(predictions, targets, "mean_absolute_error_per_channel")
      .mae_per_channel();
}

std::vector<double> root_mean_squared_error_per_channel(const at::Tensor& predictions,
                                                        const at::Tensor& targets) {
  return accumulate_forecast(predictions, targets, "root_mean_squared_error_per_channel")
      .rmse_per_channel();
}

at::Tensor predicted_labels(const at::Tensor& predictions, const at::Tensor& targets,
                            const char* fn) {
  check_defined(predictions, fn, "predictions");
  check_defined(targets, fn, "targets");
  TORCH_CHECK(at::isIntegralType(targets.scalar_type(), /*includeBool=*/false), fn,
              ": 'targets' has dtype ", c10::toString(targets.scalar_type()),
              ", expected integer class labels");
  check_same_device(targets, predictions, fn, "targets", "predictions");
  if (predictions.dim() == targets.dim() + 1) {
    TORCH_CHECK(at::isFloatingType(predictions.scalar_type()), fn,
                ": 'predictions' has one more dimension than 'targets', so it must hold "
                "floating-point logits, but has dtype ",
                c10::toString(predictions.scalar_type()));
    TORCH_CHECK(predictions.sizes().slice(0, targets.dim()) == targets.sizes(), fn,
                ": logits 'predictions' has shape ", shape_string(predictions.sizes()),
                ", expected ", shape_string(targets.sizes()), " plus a class dimension");
    TORCH_CHECK(predictions.size(-1) > 0, fn, ": logits 'predictions' has no classes");
    return predictions.argmax(-1).to(at::kCPU, at::kLong);
  }
  TORCH_CHECK(predictions.sizes() == targets.sizes(), fn, ": 'predictions' has shape ",
              shape_string(predictions.sizes()), " and 'targets' has shape ",
              shape_string(targets.sizes()),
              "; expected labels of the same shape or logits with one more dimension");
  TORCH_CHECK(at::isIntegralType(predictions.scalar_type(), /*includeBool=*/false), fn,
              ": label 'predictions' has dtype ", c10::toString(predictions.scalar_type()),
              ", expected integer class labels");
  return predictions.to(at::kCPU, at::kLong);
}

double accuracy(const at::Tensor& predictions, const at::Tensor& targets) {
  const auto labels = predicted_labels(predictions, targets, "accuracy");
  TORCH_CHECK(targets.numel() > 0, "accuracy: 'targets' is empty");
  const auto correct = labels.eq(targets.to(at::kCPU, at::kLong)).sum().item<int64_t>();
  return static_cast<double>(correct) / static_cast<double>(targets.numel());
}

void RegressionMetrics::update(const at::Tensor& predictions, const at::Tensor& targets) {
  const char* fn = "RegressionMetrics::update";
  check_regression_pair(predictions, targets, fn);
  const int64_t channels = predictions.size(-1);
  TORCH_CHECK(squared_error_sum_.empty() || channels == num_channels(), fn, ": 'predictions' has ",
              channels, " channels (last dimension) but earlier updates had ", num_channels());
  if (squared_error_sum_.empty()) {
    squared_error_sum_.assign(static_cast<size_t>(channels), 0.0);
    absolute_error_sum_.assign(static_cast<size_t>(channels), 0.0);
  }
  const auto difference =
      (predictions.to(at::kDouble) - targets.to(at::kDouble)).reshape({-1, channels});  // (M, C)
  const auto squared = to_vector(difference.square().sum(0).cpu());                     // (C)
  const auto absolute = to_vector(difference.abs().sum(0).cpu());                       // (C)
  for (int64_t c = 0; c < channels; ++c) {
    squared_error_sum_[c] += squared[c];
    absolute_error_sum_[c] += absolute[c];
  }
  count_per_channel_ += difference.size(0);
}

void RegressionMetrics::reset() {
  squared_error_sum_.clear();
  absolute_error_sum_.clear();
  count_per_channel_ = 0;
}

void RegressionMetrics::check_not_empty() const {
  TORCH_CHECK(count_per_channel_ > 0, "RegressionMetrics: no values were accumulated");
}

std::vector<double> RegressionMetrics::mse_per_channel() const {
  check_not_empty();
  std::vector<double> result(squared_error_sum_.size());
  for (size_t c = 0; c < result.size(); ++c) {
    result[c] = squared_error_sum_[c] / static_cast<double>(count_per_channel_);
  }
  return result;
}

std::vector<double> RegressionMetrics::mae_per_channel() const {
  check_not_empty();
  std::vector<double> result(absolute_error_sum_.size());
  for (size_t c = 0; c < result.size(); ++c) {
    result[c] = absolute_error_sum_[c] / static_cast<double>(count_per_channel_);
  }
  return result;
}

std::vector<double> RegressionMetrics::rmse_per_channel() const {
  auto result = mse_per_channel();
  for (auto& value : result)
    value = std::sqrt(value);
  return result;
}

double RegressionMetrics::mse() const {
  check_not_empty();
  double sum = 0.0;
  for (double value : squared_error_sum_)
    sum += value;
  return sum / static_cast<double>(count_per_channel_ * num_channels());
}

double RegressionMetrics::mae() const {
  check_not_empty();
  double sum = 0.0;
  for (double value : absolute_error_sum_)
    sum += value;
  return sum / static_cast<double>(count_per_channel_ * num_channels());
}

double RegressionMetrics::rmse() const {
  return std::sqrt(mse());
}

}  // namespace ssmkit::metrics
