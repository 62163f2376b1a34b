// Tabular CSV rows read as sequences for S4Model: the independent variables, in the order given,
// are the steps of a sequence of one channel, standardised with the training split's statistics;
// the dependent variable is a class (text, or a small set of integers) or a value. The encoding
// (feature names, scaler, task, class names, target scaling) is saved with the model, so `infer`
// encodes new rows exactly as training did.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "ssmkit/data/labelled_sequences.h"
#include "ssmkit/io/standard_scaler.h"
#include "ssmkit/io/table.h"

namespace ssmkit::data {

enum class TabularTask { classification, regression };

// Integer targets with at most this many distinct values count as classes under --task auto.
inline constexpr int64_t kMaxIntegerClasses = 20;

// The named columns of a table's rows, checked: every feature cell a number, every target cell
// present. Errors name the file, the line and the column.
struct TabularColumns {
  std::string origin;                // the file, for messages
  at::Tensor features;               // (N, F) float64, raw
  std::vector<io::Cell> target;      // N cells; empty when read without a target
  std::vector<int64_t> positions;    // the line of each row, for messages
  const io::Table* table = nullptr;  // the rows' source (for writing them back out)
  std::vector<int64_t> rows;         // row indices into *table

  int64_t size() const { return features.size(0); }
  // The same columns restricted to rows `index` (positions into this object's rows).
  TabularColumns select(const std::vector<int64_t>& index) const;
};

// Reads `features` (and `target` unless empty) from `table`. InputError for an unknown column
// (naming the flag, the file and listing its columns), a table without rows, a missing or
// non-numeric feature cell and a missing target cell (naming file, line and column).
TabularColumns read_tabular_columns(const io::Table& table,
                                    const std::vector<std::string>& features,
                                    const std::string& target);

struct TabularEncoding {
  std::vector<std::string> features;
  std::string target;
  TabularTask task = TabularTask::classification;
  std::vector<std::string> class_names;  // classification: class index -> the target's text
  io::StandardScaler scaler;             // of the features, fitted on the training rows
  double target_mean = 0.0;              // regression: targets are standardised for training
  double target_scale = 1.0;

  // Fits on `train`; class names come from the targets of every part in `all` (so a class seen
  // only in validation or test still has an index). `task` is "auto", "classification" or
  // "regression". InputError for a one-class target and for text targets under regression.
  static TabularEncoding fit(const TabularColumns& train,
                             const std::vector<const TabularColumns*>& all,
                             const std::vector<std::string>& features, const std::string& target,
                             const std::string& task);

  int64_t num_outputs() const {
    return task == TabularTask::classification ? static_cast<int64_t>(class_names.size()) : 1;
  }
  // (N, F, 1) float32 standardised features.
  at::Tensor encode_features(const TabularColumns& columns) const;
  // Features and targets: (N) int64 class indices or (N, 1) float32 standardised values.
  // InputError naming file, line and column for a class the encoding does not know.
  LabelledSequences encode(const TabularColumns& columns) const;
  // Model outputs (N, 1) back to the target's units, float64 (N).
  at::Tensor decode_values(const at::Tensor& outputs) const;

  nlohmann::json to_json() const;
  // InputError naming `origin` when the object is not an encoding.
  static TabularEncoding from_json(const nlohmann::json& j, const std::string& origin);
};

std::string tabular_task_name(TabularTask task);

}  // namespace ssmkit::data
