// Learning-rate schedules: constant, step decay, cosine with linear warmup, reduce-on-plateau, and
// the per-epoch schedules of the time-series literature (--lradj type1/type2/type3, as in
// Time-Series-Library's adjust_learning_rate). Each writes the rate into every optimizer group,
// scaled by the group's ratio to the first group's rate at construction (so a group built with its
// own rate, e.g. S4's SSM parameters, follows the schedule in proportion, as PyTorch's schedulers
// scale each group's initial rate), and round-trips its state through JSON for resumed runs.
#pragma once

#include <torch/optim/optimizer.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ssmkit::train {

// What a schedule may need to know about the run's length.
struct ScheduleContext {
  int64_t steps_per_epoch = 0;
  int64_t epochs = 0;
};

class LrScheduler {
 public:
  // The base rate is the optimizer's (first group's) rate at construction.
  explicit LrScheduler(torch::optim::Optimizer& optimizer);
  virtual ~LrScheduler() = default;
  LrScheduler(const LrScheduler&) = delete;
  LrScheduler& operator=(const LrScheduler&) = delete;

  virtual std::string name() const = 0;
  // Sets the rate of a fresh run's first step (a resumed run loads its state instead).
  virtual void start() { apply_step(0); }
  // After each optimizer step; `step` counts completed steps (1 after the first).
  void after_step(int64_t step);
  // After each epoch (1-based), with the epoch's values: "train_loss", "val_loss", "val_<metric>".
  void after_epoch(int64_t epoch, const std::map<std::string, double>& values);

  double base_lr() const { return base_lr_; }
  // The optimizer's current rate (what the next step uses).
  double lr() const;

  // {"name", "base_lr", "lr", "step", "epoch", ...schedule-specific fields}.
  nlohmann::json state_dict() const;
  // Restores a state_dict() of a schedule with the same name and sets the optimizer's rate.
  void load_state_dict(const nlohmann::json& state);

 protected:
  // Rate for the step with 0-based index `step`; step-driven schedules override it.
  virtual double lr_for_step(int64_t step) const;
  // Called after each epoch; epoch-driven schedules set the rate here.
  virtual void on_epoch(int64_t epoch, const std::map<std::string, double>& values);
  virtual bool driven_by_steps() const { return false; }
  virtual nlohmann::json extra_state() const { return nlohmann::json::object(); }
  virtual void load_extra_state(const nlohmann::json& /*state*/) {}
  void apply(double lr);
  // Sets everything a step-driven schedule sets for step `step` (0-based): the rate, and what a
  // schedule cycles besides (OneCycleLr's momentum).
  virtual void apply_step(int64_t step) { apply(lr_for_step(step)); }

  torch::optim::Optimizer& optimizer_;
  double base_lr_;
  std::vector<double> group_scales_;  // each group's rate / the first group's, at construction
  int64_t step_ = 0;
  int64_t epoch_ = 0;
};

class ConstantLr : public LrScheduler {
 public:
  using LrScheduler::LrScheduler;
  std::string name() const override { return "constant"; }
};

// lr = base * gamma^floor(n / step_size), n = completed epochs (or steps when by_step).
class StepLr : public LrScheduler {
 public:
  StepLr(torch::optim::Optimizer& optimizer, int64_t step_size, double gamma, bool by_step);
  std::string name() const override { return "step"; }

 protected:
  double lr_for_step(int64_t step) const override;
  void on_epoch(int64_t epoch, const std::map<std::string, double>& values) override;
  bool driven_by_steps() const override { return by_step_; }

 private:
  double decayed(int64_t count) const;
  int64_t step_size_;
  double gamma_;
  bool by_step_;
};

// Per step s (0-based): base * (s + 1) / warmup_steps during warmup, then cosine from base down to
// min_lr at total_steps: min + (base - min) * (1 + cos(pi * p)) / 2, p = (s - warmup) / (total -
// warmup) clamped to [0, 1].
class CosineWarmupLr : public LrScheduler {
 public:
  CosineWarmupLr(torch::optim::Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps,
                 double min_lr);
  std::string name() const override { return "cosine"; }

 protected:
  double lr_for_step(int64_t step) const override;
  bool driven_by_steps() const override { return true; }

 private:
  int64_t warmup_steps_;
  int64_t total_steps_;
  double min_lr_;
};

// PyTorch's OneCycleLR (Smith & Topin 2018) with its defaults, stepped per batch: the rate rises
// from max_lr / div_factor to max_lr over the first pct_start of total_steps and anneals to
// max_lr / (div_factor * final_div_factor) over the rest, both on cosine curves, while the
// momentum (Adam's beta1, SGD's momentum) moves the opposite way between max_momentum and
// base_momentum. The base rate (the optimizer's) is max_lr.
class OneCycleLr : public LrScheduler {
 public:
  struct Options {
    int64_t total_steps = 0;
    double pct_start = 0.3;
    double div_factor = 25.0;
    double final_div_factor = 1e4;
    bool cycle_momentum = true;
    double base_momentum = 0.85;
    double max_momentum = 0.95;
  };
  OneCycleLr(torch::optim::Optimizer& optimizer, const Options& options);
  std::string name() const override { return "one_cycle"; }

  // The momentum for 0-based step `step`.
  double momentum_for_step(int64_t step) const;

 protected:
  double lr_for_step(int64_t step) const override;
  bool driven_by_steps() const override { return true; }
  void apply_step(int64_t step) override;

 private:
  // (phase start, phase end, fraction of the phase done) of step `step`.
  struct Position {
    bool rising;
    double fraction;
  };
  Position position(int64_t step) const;

  Options options_;
};

// PyTorch's ReduceLROnPlateau: after `patience` epochs without improvement of `monitor` beyond
// `threshold` (relative or absolute), multiply the rate by `factor` (not below min_lr), then wait
// `cooldown` epochs before counting again.
class ReduceOnPlateauLr : public LrScheduler {
 public:
  struct Options {
    std::string monitor = "val_loss";
    bool maximize = false;  // mode "max"
    double factor = 0.1;
    int64_t patience = 10;
    double threshold = 1e-4;
    bool relative_threshold = true;  // threshold_mode "rel" (else "abs")
    int64_t cooldown = 0;
    double min_lr = 0.0;
  };
  ReduceOnPlateauLr(torch::optim::Optimizer& optimizer, Options options);
  std::string name() const override { return "plateau"; }
  int64_t bad_epochs() const { return bad_epochs_; }

 protected:
  void on_epoch(int64_t epoch, const std::map<std::string, double>& values) override;
  nlohmann::json extra_state() const override;
  void load_extra_state(const nlohmann::json& state) override;

 private:
  bool is_better(double value) const;
  Options options_;
  double best_;
  int64_t bad_epochs_ = 0;
  int64_t cooldown_left_ = 0;
};

// Time-Series-Library's adjust_learning_rate, applied after epoch e (1-based):
//   type1: base * 0.5^(e - 1)
//   type2: {2: 5e-5, 4: 1e-5, 6: 5e-6, 8: 1e-6, 10: 5e-7, 15: 1e-7, 20: 5e-8} at those epochs
//   type3: base for e < 3, else base * 0.9^(e - 3)
class TimeSeriesLr : public LrScheduler {
 public:
  enum class Kind { kType1, kType2, kType3 };
  TimeSeriesLr(torch::optim::Optimizer& optimizer, Kind kind);
  std::string name() const override;

 protected:
  void on_epoch(int64_t epoch, const std::map<std::string, double>& values) override;

 private:
  Kind kind_;
};

// The "scheduler" section with every schedule's keys at their defaults (name "constant"); the
// keys of schedules other than the named one are accepted and ignored.
nlohmann::json scheduler_config_defaults();

// Builds a schedule from the "scheduler" config section:
//   {"name": "constant"}
//   {"name": "step", "step_size": 10, "gamma": 0.1, "interval": "epoch" | "step"}
//   {"name": "cosine", "warmup_steps": 0, "total_steps": 0 (= epochs * steps_per_epoch),
//    "min_lr": 0}
//   {"name": "one_cycle", "total_steps": 0 (= epochs * steps_per_epoch), "pct_start": 0.3,
//    "div_factor": 25, "final_div_factor": 1e4, "cycle_momentum": true, "base_momentum": 0.85,
//    "max_momentum": 0.95}
//   {"name": "plateau", "monitor": "val_loss", "mode": "min" | "max", "factor": 0.1,
//    "patience": 10, "threshold": 1e-4, "threshold_mode": "rel" | "abs", "cooldown": 0,
//    "min_lr": 0}
//   {"name": "type1" | "type2" | "type3"}
std::unique_ptr<LrScheduler> make_lr_scheduler(const nlohmann::json& section,
                                               torch::optim::Optimizer& optimizer,
                                               const ScheduleContext& context);

}  // namespace ssmkit::train
