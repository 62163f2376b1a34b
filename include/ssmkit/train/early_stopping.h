// Early stopping on a monitored epoch value (val_loss by default): tracks the best value, which
// also decides the best checkpoint, and stops after `patience` epochs without improvement.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace ssmkit::train {

struct EarlyStoppingConfig {
  std::string monitor = "val_loss";  // "train_loss", "val_loss" or "val_<metric>"
  bool maximize = false;             // mode "max", e.g. for val_accuracy
  int64_t patience = 0;              // epochs without improvement before stopping; 0 = never
  double min_delta = 0.0;            // an improvement must exceed this

  // Reads the "early_stopping" section: monitor, mode ("min" | "max"), patience, min_delta.
  static EarlyStoppingConfig from_json(const nlohmann::json& section);
  nlohmann::json to_json() const;
};

class EarlyStopping {
 public:
  explicit EarlyStopping(EarlyStoppingConfig config);

  // Records `epoch`'s monitored value; true when it beats the best by more than min_delta. A
  // non-finite value never improves.
  bool update(int64_t epoch, double value);
  bool should_stop() const;

  const EarlyStoppingConfig& config() const { return config_; }
  bool has_best() const { return best_epoch_ > 0; }
  double best() const { return best_; }
  int64_t best_epoch() const { return best_epoch_; }
  int64_t epochs_without_improvement() const { return bad_epochs_; }

  nlohmann::json state_dict() const;
  void load_state_dict(const nlohmann::json& state);

 private:
  EarlyStoppingConfig config_;
  double best_ = 0.0;
  int64_t best_epoch_ = 0;  // 0 = no value recorded yet
  int64_t bad_epochs_ = 0;
};

}  // namespace ssmkit::train
