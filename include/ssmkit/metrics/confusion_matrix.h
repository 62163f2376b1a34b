// Confusion matrix accumulated over batches, and the per-class precision, recall, F1 and support
// derived from it (defined as in scikit-learn; a zero denominator gives 0, as sklearn's default).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace ssmkit::metrics {

struct ClassMetrics {
  double precision = 0.0;  // tp / (tp + fp)
  double recall = 0.0;     // tp / (tp + fn)
  double f1 = 0.0;         // 2 tp / (2 tp + fp + fn), the harmonic mean of the two above
  int64_t support = 0;     // number of examples whose true class is this one
};

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int64_t num_classes);

  // Adds a batch. `predictions` are logits with one more dimension than `targets` (argmax over
  // the last, which must have num_classes entries) or labels of the same shape as `targets`.
  // Every label must lie in [0, num_classes).
  void update(const at::Tensor& predictions,  // (N, ..., K) logits or (N, ...) labels
              const at::Tensor& targets);     // (N, ...) integer labels
  void reset();

  int64_t num_classes() const { return num_classes_; }
  // Examples whose true class is `true_class` and predicted class `predicted_class`.
  int64_t count(int64_t true_class, int64_t predicted_class) const;
  // Counts as a (K, K) int64 tensor: rows are true classes, columns predicted classes (sklearn).
  at::Tensor to_tensor() const;  // (K, K)
  int64_t total() const;
  int64_t correct() const;
  // Fraction of examples on the diagonal; 0 when empty.
  double accuracy() const;

  ClassMetrics class_metrics(int64_t k) const;
  std::vector<ClassMetrics> per_class() const;
  // Unweighted mean over classes of precision, recall and F1; support is the total.
  ClassMetrics macro_average() const;
  // Mean over classes weighted by support; 0 when there is no example.
  ClassMetrics weighted_average() const;

 private:
  int64_t num_classes_;
  std::vector<int64_t> counts_;  // (K * K), row-major (true class, predicted class)
};

}  // namespace ssmkit::metrics
