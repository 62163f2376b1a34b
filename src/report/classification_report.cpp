// Text and JSON classification reports in scikit-learn's layout.
#include "ssmkit/report/classification_report.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "ssmkit/io/error.h"

namespace ssmkit::report {
namespace {

// sklearn's column width for the four numeric columns.
constexpr int kColumnWidth = 9;
// sklearn sizes the name column to fit at least its longest summary heading.
const std::string kLongestSummaryHeading = "weighted avg";
// More digits than a double holds are noise; the limit also bounds the formatting buffer.
constexpr int kMaxDigits = 17;

std::vector<std::string> resolve_class_names(const metrics::ConfusionMatrix& matrix,
                                             const std::vector<std::string>& class_names,
                                             const char* fn) {
  const auto k = static_cast<size_t>(matrix.num_classes());
  if (class_names.empty()) {
    std::vector<std::string> names;
    for (size_t i = 0; i < k; ++i)
      names.push_back(std::to_string(i));
    return names;
  }
  if (class_names.size() != k) {
    throw InputError(std::string(fn) + ": " + std::to_string(class_names.size()) +
                     " class names given for " + std::to_string(k) + " classes");
  }
  std::set<std::string> seen;
  for (const auto& name : class_names) {
    if (!seen.insert(name).second) {
      throw InputError(std::string(fn) + ": class name '" + name + "' appears twice");
    }
  }
  return class_names;
}

std::string right_aligned(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

std::string fixed(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%*.*f", kColumnWidth, digits, value);
  return buffer;
}

std::string row(const std::string& heading, size_t width, const metrics::ClassMetrics& metrics, int digits) {
  return right_aligned(heading, width) + " " + " " + fixed(metrics.precision, digits) + " " +
         fixed(metrics.recall, digits) + " " + fixed(metrics.f1, digits) + " " +
         right_aligned(std::to_string(metrics.support), kColumnWidth) + "\n";
}

nlohmann::ordered_json row_json(const metrics::ClassMetrics& metrics) {
  nlohmann::ordered_json entry;
  entry["precision"] = metrics.precision;
  entry["recall"] = metrics.recall;
  entry["f1-score"] = metrics.f1;
  entry["support"] = metrics.support;
  return entry;
}

}  // namespace

std::string classification_report(const metrics::ConfusionMatrix& matrix,
                                  const std::vector<std::string>& class_names, int digits) {
  if (digits < 0 || digits > kMaxDigits) {
    throw InputError("classification_report: digits is " + std::to_string(digits) +
                     ", expected 0 to " + std::to_string(kMaxDigits));
  }
  const auto names = resolve_class_names(matrix, class_names, "classification_report");
  size_t width = std::max(kLongestSummaryHeading.size(), static_cast<size_t>(digits));
  for (const auto& name : names)
    width = std::max(width, name.size());

  std::string report = std::string(width, ' ') + " ";
  for (const char* header : {"precision", "recall", "f1-score", "support"}) {
    report += " " + right_aligned(header, kColumnWidth);
  }
  report += "\n\n";
  const auto per_class = matrix.per_class();
  for (size_t k = 0; k < names.size(); ++k)
    report += row(names[k], width, per_class[k], digits);
  report += "\n";
  // The accuracy row leaves precision and recall blank, as sklearn does.
  const std::string blank(kColumnWidth, ' ');
  report += right_aligned("accuracy", width) + " " + " " + blank + " " + blank + " " +
            fixed(matrix.accuracy(), digits) + " " +
            right_aligned(std::to_string(matrix.total()), kColumnWidth) + "\n";
  report += row("macro avg", width, matrix.macro_average(), digits);
  report += row("weighted avg", width, matrix.weighted_average(), digits);
  return report;
}

nlohmann::ordered_json classification_report_json(const metrics::ConfusionMatrix& matrix,
                                                  const std::vector<std::string>& class_names) {
  const auto names = resolve_class_names(matrix, class_names, "classification_report_json");
  nlohmann::ordered_json report = nlohmann::ordered_json::object();
  const auto per_class = matrix.per_class();
  for (size_t k = 0; k < names.size(); ++k)
    report[names[k]] = row_json(per_class[k]);
  report["accuracy"] = matrix.accuracy();
  report["macro avg"] = row_json(matrix.macro_average());
  report["weighted avg"] = row_json(matrix.weighted_average());
  return report;
}

}  // namespace ssmkit::report
