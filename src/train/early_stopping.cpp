// Early stopping and best-value tracking.
#include "ssmkit/train/early_stopping.h"

#include <cmath>

#include "ssmkit/io/config.h"
#include "ssmkit/io/error.h"

namespace ssmkit::train {

EarlyStoppingConfig EarlyStoppingConfig::from_json(const nlohmann::json& section) {
  EarlyStoppingConfig c;
  io::ConfigSection s(section, "early_stopping");
  c.monitor = s.string("monitor", c.monitor);
  c.maximize = s.choice("mode", "min", {"min", "max"}) == "max";
  c.patience = s.integer("patience", c.patience);
  c.min_delta = s.number("min_delta", c.min_delta);
  s.finish();
  if (c.patience < 0) throw InputError("early_stopping.patience: must be >= 0 (0 = off)");
  if (c.min_delta < 0) throw InputError("early_stopping.min_delta: must be >= 0");
  return c;
}

nlohmann::json EarlyStoppingConfig::to_json() const {
  return {{"monitor", monitor},
          {"mode", maximize ? "max" : "min"},
          {"patience", patience},
          {"min_delta", min_delta}};
}

EarlyStopping::EarlyStopping(EarlyStoppingConfig config) : config_(std::move(config)) {}

bool EarlyStopping::update(int64_t epoch, double value) {
  const bool improved = std::isfinite(value) &&
                        (!has_best() || (config_.maximize ? value > best_ + config_.min_delta
                                                          : value < best_ - config_.min_delta));
  if (improved) {
    best_ = value;
    best_epoch_ = epoch;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  return improved;
}

bool EarlyStopping::should_stop() const {
  return config_.patience > 0 && bad_epochs_ >= config_.patience;
}

nlohmann::json EarlyStopping::state_dict() const {
  return {{"monitor", config_.monitor},
          {"best", has_best() ? nlohmann::json(best_) : nlohmann::json()},
          {"best_epoch", best_epoch_},
          {"bad_epochs", bad_epochs_}};
}

void EarlyStopping::load_state_dict(const nlohmann::json& state) {
  const std::string monitor = state.at("monitor").get<std::string>();
  if (monitor != config_.monitor) {
    throw InputError("early_stopping.monitor: the checkpoint monitored '" + monitor +
                     "', this run monitors '" + config_.monitor + "'");
  }
  best_epoch_ = state.at("best_epoch").get<int64_t>();
  best_ = has_best() ? state.at("best").get<double>() : 0.0;
  bad_epochs_ = state.at("bad_epochs").get<int64_t>();
}

}  // namespace ssmkit::train
