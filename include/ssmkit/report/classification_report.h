// scikit-learn's classification_report from a ConfusionMatrix: the same text table (columns
// precision, recall, f1-score, support; rows per class, accuracy, macro avg, weighted avg) and the
// same dictionary as JSON. Every class in [0, K) is listed, as sklearn does with labels=range(K).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ssmkit/metrics/confusion_matrix.h"

namespace ssmkit::report {

// sklearn prints two decimals unless asked otherwise.
inline constexpr int kDefaultReportDigits = 2;

// The text report, byte for byte as sklearn prints it. `class_names` is empty (classes are named
// "0", "1", ...) or holds one unique name per class.
std::string classification_report(const metrics::ConfusionMatrix& matrix,
                                  const std::vector<std::string>& class_names = {},
                                  int digits = kDefaultReportDigits);

// sklearn's output_dict=True: {"<class>": {"precision", "recall", "f1-score", "support"}, ...,
// "accuracy": value, "macro avg": {...}, "weighted avg": {...}}, keys in that order.
nlohmann::ordered_json classification_report_json(const metrics::ConfusionMatrix& matrix,
                                                  const std::vector<std::string>& class_names = {});

}  // namespace ssmkit::report
