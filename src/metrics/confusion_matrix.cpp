// ConfusionMatrix: accumulation from logits or labels, per-class and averaged metrics.
#include "ssmkit/metrics/confusion_matrix.h"

#include <torch/torch.h>

#include "ssmkit/metrics/metrics.h"

namespace ssmkit::metrics {
namespace {

double ratio_or_zero(double numerator, double denominator) {
  return denominator > 0.0 ? numerator / denominator : 0.0;
}

void check_labels_in_range(const at::Tensor& labels,  // (M) int64 on the CPU
                           int64_t num_classes, const char* name) {
  if (labels.numel() == 0) return;
  const int64_t low = labels.min().item<int64_t>();
  const int64_t high = labels.max().item<int64_t>();
  TORCH_CHECK(low >= 0 && high < num_classes, "ConfusionMatrix::update: '", name, "' holds label ",
              (low < 0 ? low : high), ", expected labels in [0, ", num_classes, ")");
}

}  // namespace

ConfusionMatrix::ConfusionMatrix(int64_t num_classes) : num_classes_(num_classes) {
  TORCH_CHECK(num_classes > 0, "ConfusionMatrix: num_classes is ", num_classes,
              ", expected at least 1");
  counts_.assign(static_cast<size_t>(num_classes * num_classes), 0);
}

void ConfusionMatrix::update(const at::Tensor& predictions, const at::Tensor& targets) {
  const char* fn = "ConfusionMatrix::update";
  if (predictions.defined() && targets.defined() && predictions.dim() == targets.dim() + 1) {
    TORCH_CHECK(predictions.size(-1) == num_classes_, fn, ": logits 'predictions' have ",
                predictions.size(-1), " classes (last dimension), expected ", num_classes_);
  }
  const auto predicted = predicted_labels(predictions, targets, fn).reshape({-1});
  const auto truth = targets.to(at::kCPU, at::kLong).reshape({-1});
  check_labels_in_range(truth, num_classes_, "targets");
  check_labels_in_range(predicted, num_classes_, "predictions");
  if (truth.numel() == 0) return;
  const auto cells = truth * num_classes_ + predicted;
  const auto histogram = at::bincount(cells, /*weights=*/{}, num_classes_ * num_classes_);
  const int64_t* added = histogram.data_ptr<int64_t>();
  for (size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += added[i];
}

void ConfusionMatrix::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
}

int64_t ConfusionMatrix::count(int64_t true_class, int64_t predicted_class) const {
  TORCH_CHECK(true_class >= 0 && true_class < num_classes_ && predicted_class >= 0 &&
                  predicted_class < num_classes_,
              "ConfusionMatrix::count: class (", true_class, ", ", predicted_class,
              ") is outside [0, ", num_classes_, ")");
  return counts_[static_cast<size_t>(true_class * num_classes_ + predicted_class)];
}

at::Tensor ConfusionMatrix::to_tensor() const {
  return torch::tensor(counts_, torch::kLong).reshape({num_classes_, num_classes_});
}

int64_t ConfusionMatrix::total() const {
  int64_t sum = 0;
  for (int64_t value : counts_)
    sum += value;
  return sum;
}

int64_t ConfusionMatrix::correct() const {
  int64_t sum = 0;
  for (int64_t k = 0; k < num_classes_; ++k)
    sum += count(k, k);
  return sum;
}

double ConfusionMatrix::accuracy() const {
  return ratio_or_zero(static_cast<double>(correct()), static_cast<double>(total()));
}

ClassMetrics ConfusionMatrix::class_metrics(int64_t k) const {
  TORCH_CHECK(k >= 0 && k < num_classes_, "ConfusionMatrix::class_metrics: class ", k,
              " is outside [0, ", num_classes_, ")");
  int64_t predicted_as_k = 0;
  int64_t truly_k = 0;
  for (int64_t j = 0; j < num_classes_; ++j) {
    predicted_as_k += count(j, k);
    truly_k += count(k, j);
  }
  const auto tp = static_cast<double>(count(k, k));
  const auto fp = static_cast<double>(predicted_as_k) - tp;
  const auto fn = static_cast<double>(truly_k) - tp;
  ClassMetrics metrics;
  metrics.precision = ratio_or_zero(tp, tp + fp);
  metrics.recall = ratio_or_zero(tp, tp + fn);
  metrics.f1 = ratio_or_zero(2.0 * tp, 2.0 * tp + fp + fn);
  metrics.support = truly_k;
  return metrics;
}

std::vector<ClassMetrics> ConfusionMatrix::per_class() const {
  std::vector<ClassMetrics> result;
  result.reserve(static_cast<size_t>(num_classes_));
  for (int64_t k = 0; k < num_classes_; ++k)
    result.push_back(class_metrics(k));
  return result;
}

ClassMetrics ConfusionMatrix::macro_average() const {
  ClassMetrics average;
  for (const auto& metrics : per_class()) {
    average.precision += metrics.precision;
    average.recall += metrics.recall;
    average.f1 += metrics.f1;
    average.support += metrics.support;
  }
  const auto classes = static_cast<double>(num_classes_);
  average.precision /= classes;
  average.recall /= classes;
  average.f1 /= classes;
  return average;
}

ClassMetrics ConfusionMatrix::weighted_average() const {
  ClassMetrics average;
  for (const auto& metrics : per_class()) {
    const auto weight = static_cast<double>(metrics.support);
    average.precision += weight * metrics.precision;
    average.recall += weight * metrics.recall;
    average.f1 += weight * metrics.f1;
    average.support += metrics.support;
  }
  const auto total_support = static_cast<double>(average.support);
  average.precision = ratio_or_zero(average.precision, total_support);
  average.recall = ratio_or_zero(average.recall, total_support);
  average.f1 = ratio_or_zero(average.f1, total_support);
  return average;
}

}  // namespace ssmkit::metrics
