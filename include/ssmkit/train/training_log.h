// training_log.json: the run's epoch history, best epoch, status and test result, rewritten
// atomically after every epoch so that it is always complete and parseable. The same document is
// kept inside checkpoints, so a resumed run continues the history of its checkpoint.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ssmkit/train/callback.h"

namespace ssmkit::train {

// Epoch summaries as JSON (NaN values as null; weight statistics are left to metrics.jsonl).
nlohmann::json to_json(const EpochSummary& summary);
EpochSummary epoch_summary_from_json(const nlohmann::json& record);
nlohmann::json to_json(const EvaluationResult& result);

class TrainingLog {
 public:
  std::vector<EpochSummary> epochs;
  std::string status = "running";  // running | completed | stopped_early | ... | failed
  std::string message;             // the error for a failed run
  std::string monitor;
  int64_t best_epoch = 0;
  double best_value = kNoValue;
  nlohmann::json test;  // to_json(EvaluationResult) of the test pass, or null

  nlohmann::json to_json() const;
  static TrainingLog from_json(const nlohmann::json& document);
  // Writes the document atomically.
  void write(const std::string& path) const;
};

}  // namespace ssmkit::train
