// What the s4model and infer programs share: the data of a run's "data" section (an image set
// read as pixel sequences, or tabular CSV rows read as feature sequences, split into training,
// validation and test parts), the prediction pass, the scores of predictions (accuracy and the
// classification report, or R2, MSE and MAE in the target's units) and the predictions CSV.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ssmkit/cli/config_flags.h"
#include "ssmkit/data/labelled_sequences.h"
#include "ssmkit/data/tabular_sequences.h"
#include "ssmkit/io/table.h"
#include "ssmkit/train/trainable_model.h"

namespace ssmkit::cli {

// s4model's precision of float32 matrix products (trainer.float32_matmul_precision): TF32 on GPU
// tensor cores, as the S4 repository's model gets under PyTorch's defaults, where its 1x1 Conv1d
// output projection runs on cuDNN with TF32 allowed. No effect on the CPU.
inline constexpr const char* kS4Float32MatmulPrecision = "high";

// The "data" section of s4model with every key at its default.
nlohmann::json s4_data_defaults();

// parse_arguments() where each of `list_flags` may take several words: the words after it up to
// the next "--" word are joined by commas into one value, so "--independent_variables f1 f2 f3"
// reads as the list [f1, f2, f3] (as "--independent_variables f1,f2,f3" does).
ParsedArguments parse_arguments_with_lists(cxxopts::Options& options, int argc,
                                           const char* const* argv,
                                           const std::vector<std::string>& list_flags);

struct S4Data {
  data::SequenceSplits splits;
  bool classification = true;
  std::vector<std::string> class_names;           // classification
  std::optional<data::TabularEncoding> encoding;  // tabular data
  std::string description;                        // e.g. "fashion_mnist" or "wine.csv"
  // Tabular: the tables read and the test rows, for writing the test split back out.
  std::vector<std::shared_ptr<io::Table>> tables;
  std::optional<data::TabularColumns> test_rows;

  int64_t d_input() const { return splits.train.inputs.size(2); }
  int64_t d_output() const { return classification ? static_cast<int64_t>(class_names.size()) : 1; }
};

// Reads and splits the data of `data_section` (s4_data_defaults() keys). Every problem is an
// InputError naming the flag or file, raised before anything is written.
S4Data load_s4_data(const nlohmann::json& data_section);

// Model outputs for `inputs` (N, L, C), in evaluation mode without gradients, batch by batch on
// `device`; returned on the CPU: (N, d_output).
at::Tensor predict_outputs(train::TrainableModel& model, const at::Tensor& inputs,
                           int64_t batch_size, const c10::Device& device);

// Scores of `outputs` (N, K) logits or (N, 1) standardised values against `targets` (N) labels or
// (N, 1) standardised values: {"<phase>_accuracy", "<phase>_macro_f1", "classification_report"}
// or {"<phase>_r2", "<phase>_mse", "<phase>_mae"} in the target's units. For classification it
// also writes <folder>/<prefix>classification_report.txt and confusion_matrix.png.
nlohmann::json score_predictions(const at::Tensor& outputs, const at::Tensor& targets,
                                 const S4Data& data, const std::string& phase,
                                 const std::string& folder, const std::string& prefix,
                                 const std::string& title);

// The headline metric of a score: accuracy or R2.
std::string headline_metric(const S4Data& data, const std::string& phase);

// The predictions CSV: `leading_header` and `leading_rows` (already CSV text, one per example),
// then "prediction" (class name or value) and, for classification, "probability_<class>" per
// class. Written atomically.
void write_predictions_csv(const std::string& path, const std::string& leading_header,
                           const std::vector<std::string>& leading_rows, const at::Tensor& outputs,
                           const S4Data& data);

// The cells of `columns`' rows in their table, as CSV lines, and the header of the table.
std::string table_header(const io::Table& table);
std::vector<std::string> table_rows(const data::TabularColumns& columns);

}  // namespace ssmkit::cli
