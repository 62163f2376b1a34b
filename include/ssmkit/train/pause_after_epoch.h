// Ends a run after a given epoch while keeping everything planned for the whole run (the schedule
// over all epochs, the early-stopping state): resuming its checkpoint continues as if the run had
// never stopped. For jobs with a time limit, and for tests of exact resumption.
#pragma once

#include <cstdint>

#include "ssmkit/train/callback.h"

namespace ssmkit::train {

class PauseAfterEpoch : public Callback {
 public:
  explicit PauseAfterEpoch(int64_t epoch) : epoch_(epoch) {}
  void on_epoch_end(const EpochSummary& summary) override { reached_ = summary.epoch >= epoch_; }
  bool should_stop() const override { return reached_; }

 private:
  int64_t epoch_;
  bool reached_ = false;
};

}  // namespace ssmkit::train
