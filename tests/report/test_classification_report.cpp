// classification_report text and JSON against scikit-learn's output. The expected strings were
// produced by sklearn's own format strings from hand-computed metrics; the two-digit one is the
// example printed in sklearn's documentation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "metrics/sklearn_example.h"
#include "ssmkit/io/error.h"
#include "ssmkit/report/classification_report.h"

namespace ssmkit::report {
using namespace ssmkit::metrics;
namespace {

using testing::sklearn_docs_example;

const std::vector<std::string> kDocsNames = {"class 0", "class 1", "class 2"};

TEST(ClassificationReport, MatchesSklearnDocumentationExample) {
  const std::string expected =
      "              precision    recall  f1-score   support\n"
      "\n"
      "     class 0       0.50      1.00      0.67         1\n"
      "     class 1       0.00      0.00      0.00         1\n"
      "     class 2       1.00      0.67      0.80         3\n"
      "\n"
      "    accuracy                           0.60         5\n"
      "   macro avg       0.50      0.56      0.49         5\n"
      "weighted avg       0.70      0.60      0.61         5\n";
  EXPECT_EQ(classification_report(sklearn_docs_example(), kDocsNames), expected);
}

TEST(ClassificationReport, FourDigits) {
  const std::string expected =
      "              precision    recall  f1-score   support\n"
      "\n"
      "     class 0     0.5000    1.0000    0.6667         1\n"
      "     class 1     0.0000    0.0000    0.0000         1\n"
      "     class 2     1.0000    0.6667    0.8000         3\n"
      "\n"
      "    accuracy                         0.6000         5\n"
      "   macro avg     0.5000    0.5556    0.4889         5\n"
      "weighted avg     0.7000    0.6000    0.6133         5\n";
  EXPECT_EQ(classification_report(sklearn_docs_example(), kDocsNames, 4), expected);
}

TEST(ClassificationReport, LongNamesWidenTheFirstColumnAndEmptyClassesShowZeros) {
  // Truth/prediction pairs: class 0 (4 examples, 3 right), 1 (2, 1 right), 2 (4, 3 right),
  // class 3 never occurs.
  ConfusionMatrix matrix(4);
  matrix.update(torch::tensor({0, 1, 0, 1, 2, 2, 2, 0, 2, 0}, torch::kLong),
                torch::tensor({0, 0, 0, 1, 1, 2, 2, 2, 2, 0}, torch::kLong));
  const std::string expected =
      "                    precision    recall  f1-score   support\n"
      "\n"
      "               cat      0.750     0.750     0.750         4\n"
      "               dog      0.500     0.500     0.500         2\n"
      "a much longer name      0.750     0.750     0.750         4\n"
      "            unused      0.000     0.000     0.000         0\n"
      "\n"
      "          accuracy                          0.700        10\n"
      "         macro avg      0.500     0.500     0.500        10\n"
      "      weighted avg      0.700     0.700     0.700        10\n";
  EXPECT_EQ(classification_report(matrix, {"cat", "dog", "a much longer name", "unused"}, 3),
            expected);
}

TEST(ClassificationReport, DefaultNamesAreClassNumbers) {
  const auto report = classification_report(sklearn_docs_example());
  EXPECT_NE(report.find("\n           0       0.50      1.00      0.67         1\n"),
            std::string::npos)
      << report;
}

TEST(ClassificationReport, JsonHasSklearnKeysInOrder) {
  const auto json = classification_report_json(sklearn_docs_example(), kDocsNames);
  std::vector<std::string> keys;
  for (const auto& item : json.items())
    keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"class 0", "class 1", "class 2", "accuracy",
                                            "macro avg", "weighted avg"}));
  EXPECT_DOUBLE_EQ(json["class 0"]["precision"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(json["class 0"]["recall"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(json["class 2"]["f1-score"].get<double>(), 0.8);
  EXPECT_EQ(json["class 2"]["support"].get<int64_t>(), 3);
  EXPECT_DOUBLE_EQ(json["accuracy"].get<double>(), 0.6);
  EXPECT_NEAR(json["macro avg"]["recall"].get<double>(), 5.0 / 9.0, 1e-15);
  EXPECT_NEAR(json["weighted avg"]["precision"].get<double>(), 0.7, 1e-15);
  EXPECT_EQ(json["weighted avg"]["support"].get<int64_t>(), 5);
  std::vector<std::string> row_keys;
  for (const auto& item : json["macro avg"].items())
    row_keys.push_back(item.key());
  EXPECT_EQ(row_keys, (std::vector<std::string>{"precision", "recall", "f1-score", "support"}));
}

TEST(ClassificationReport, RejectsBadNamesAndDigits) {
  const auto matrix = sklearn_docs_example();
  EXPECT_THROW(classification_report(matrix, {"a", "b"}), InputError);
  EXPECT_THROW(classification_report(matrix, {"a", "b", "a"}), InputError);
  EXPECT_THROW(classification_report(matrix, {}, -1), InputError);
  EXPECT_THROW(classification_report_json(matrix, {"a"}), InputError);
}

}  // namespace
}  // namespace ssmkit::report
