// Learning-rate schedules and their factory.
#include "ssmkit/train/lr_scheduler.h"

#include <cmath>
#include <limits>

#include "ssmkit/io/config.h"
#include "ssmkit/io/error.h"
#include "ssmkit/train/optimizer_factory.h"

namespace ssmkit::train {
namespace {

constexpr double kPi = 3.14159265358979323846;
// PyTorch's ReduceLROnPlateau ignores reductions smaller than this.
constexpr double kPlateauMinDecrease = 1e-8;
// type1 halves the rate each epoch.
constexpr double kType1Decay = 0.5;
// type3 keeps the base rate for this many epochs, then decays by kType3Decay per epoch.
constexpr int64_t kType3HoldEpochs = 3;
constexpr double kType3Decay = 0.9;

// Time-Series-Library's fixed type2 table: epoch -> rate.
const std::map<int64_t, double>& type2_table() {
  static const std::map<int64_t, double> table = {{2, 5e-5},  {4, 1e-5},  {6, 5e-6}, {8, 1e-6},
                                                  {10, 5e-7}, {15, 1e-7}, {20, 5e-8}};
  return table;
}

// JSON has no infinities; a best value of +-inf is stored as null.
nlohmann::json finite_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

void require_scheduler(bool ok, const std::string& message) {
  if (!ok) throw InputError("scheduler." + message);
}

}  // namespace

LrScheduler::LrScheduler(torch::optim::Optimizer& optimizer)
    : optimizer_(optimizer), base_lr_(learning_rate(optimizer)) {
  for (const auto& group : optimizer.param_groups())
    group_scales_.push_back(base_lr_ > 0 ? group.options().get_lr() / base_lr_ : 1.0);
}

void LrScheduler::after_step(int64_t step) {
  step_ = step;
  if (driven_by_steps()) apply_step(step);
}

void LrScheduler::after_epoch(int64_t epoch, const std::map<std::string, double>& values) {
  epoch_ = epoch;
  on_epoch(epoch, values);
}

double LrScheduler::lr() const {
  return learning_rate(optimizer_);
}

double LrScheduler::lr_for_step(int64_t /*step*/) const {
  return base_lr_;
}

void LrScheduler::on_epoch(int64_t /*epoch*/, const std::map<std::string, double>& /*values*/) {}

void LrScheduler::apply(double lr) {
  auto& groups = optimizer_.param_groups();
  for (size_t g = 0; g < groups.size(); ++g)
    groups[g].options().set_lr(lr * (g < group_scales_.size() ? group_scales_[g] : 1.0));
}

nlohmann::json LrScheduler::state_dict() const {
  nlohmann::json state = extra_state();
  state["name"] = name();
  state["base_lr"] = base_lr_;
  state["lr"] = lr();
  state["step"] = step_;
  state["epoch"] = epoch_;
  return state;
}

void LrScheduler::load_state_dict(const nlohmann::json& state) {
  const std::string saved = state.value("name", std::string());
  if (saved != name()) {
    throw InputError("scheduler: the checkpoint was written with schedule '" + saved +
                     "', this run uses '" + name() + "'");
  }
  base_lr_ = state.at("base_lr").get<double>();
  step_ = state.at("step").get<int64_t>();
  epoch_ = state.at("epoch").get<int64_t>();
  load_extra_state(state);
  apply(state.at("lr").get<double>());
  // What a step-driven schedule sets besides the rate (a cycled momentum) is not in the state.
  if (driven_by_steps()) apply_step(step_);
}

// ---------------------------------------------------------------------------------------------

StepLr::StepLr(torch::optim::Optimizer& optimizer, int64_t step_size, double gamma, bool by_step)
    : LrScheduler(optimizer), step_size_(step_size), gamma_(gamma), by_step_(by_step) {
  require_scheduler(step_size_ > 0, "step_size: must be positive");
  require_scheduler(gamma_ > 0, "gamma: must be positive");
}

double StepLr::decayed(int64_t count) const {
  return base_lr_ * std::pow(gamma_, static_cast<double>(count / step_size_));
}

double StepLr::lr_for_step(int64_t step) const {
  return by_step_ ? decayed(step) : base_lr_;
}

void StepLr::on_epoch(int64_t epoch, const std::map<std::string, double>& /*values*/) {
  if (!by_step_) apply(decayed(epoch));
}

// ---------------------------------------------------------------------------------------------

CosineWarmupLr::CosineWarmupLr(torch::optim::Optimizer& optimizer, int64_t warmup_steps,
                               int64_t total_steps, double min_lr)
    : LrScheduler(optimizer),
      warmup_steps_(warmup_steps),
      total_steps_(total_steps),
      min_lr_(min_lr) {
  require_scheduler(warmup_steps_ >= 0, "warmup_steps: must be >= 0");
  require_scheduler(total_steps_ > 0,
                    "total_steps: must be positive (0 means epochs * steps per epoch)");
  require_scheduler(warmup_steps_ <= total_steps_, "warmup_steps: must not exceed total_steps (" +
                                                       std::to_string(total_steps_) + ")");
  require_scheduler(min_lr_ >= 0 && min_lr_ <= base_lr_, "min_lr: must be in [0, lr]");
}

double CosineWarmupLr::lr_for_step(int64_t step) const {
  if (step < warmup_steps_) {
    return base_lr_ * static_cast<double>(step + 1) / static_cast<double>(warmup_steps_);
  }
  const double span = static_cast<double>(std::max<int64_t>(1, total_steps_ - warmup_steps_));
  const double progress = std::min(1.0, static_cast<double>(step - warmup_steps_) / span);
  return min_lr_ + (base_lr_ - min_lr_) * 0.5 * (1.0 + std::cos(kPi * progress));
}

// ---------------------------------------------------------------------------------------------

ReduceOnPlateauLr::ReduceOnPlateauLr(torch::optim::Optimizer& optimizer, Options options)
    : LrScheduler(optimizer),
      options_(std::move(options)),
      best_(options_.maximize ? -std::numeric_limits<double>::infinity()
                              : std::numeric_limits<double>::infinity()) {
  require_scheduler(options_.factor > 0 && options_.factor < 1, "factor: must be in (0, 1)");
  require_scheduler(options_.patience >= 0, "patience: must be >= 0");
  require_scheduler(options_.threshold >= 0, "threshold: must be >= 0");
  require_scheduler(options_.cooldown >= 0, "cooldown: must be >= 0");
  require_scheduler(options_.min_lr >= 0, "min_lr: must be >= 0");
}

bool ReduceOnPlateauLr::is_better(double value) const {
  if (!std::isfinite(value)) return false;
  if (options_.maximize) {
    return options_.relative_threshold ? value > best_ * (1.0 + options_.threshold)
                                       : value > best_ + options_.threshold;
  }
  return options_.relative_threshold ? value < best_ * (1.0 - options_.threshold)
                                     : value < best_ - options_.threshold;
}

void ReduceOnPlateauLr::on_epoch(int64_t /*epoch*/, const std::map<std::string, double>& values) {
  const auto it = values.find(options_.monitor);
  if (it == values.end()) {
    std::string available;
    for (const auto& [key, value] : values)
      available += (available.empty() ? "" : ", ") + key;
    throw InputError("scheduler.monitor: '" + options_.monitor +
                     "' is not computed in this run; available: " + available);
  }
  if (is_better(it->second)) {
    best_ = it->second;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    bad_epochs_ = 0;
  }
  if (bad_epochs_ > options_.patience) {
    const double old_lr = lr();
    const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
    if (old_lr - new_lr > kPlateauMinDecrease) apply(new_lr);
    cooldown_left_ = options_.cooldown;
    bad_epochs_ = 0;
  }
}

nlohmann::json ReduceOnPlateauLr::extra_state() const {
  return {{"best", finite_or_null(best_)},
          {"bad_epochs", bad_epochs_},
          {"cooldown_left", cooldown_left_}};
}

void ReduceOnPlateauLr::load_extra_state(const nlohmann::json& state) {
  const auto& best = state.at("best");
  best_ = best.is_null() ? (options_.maximize ? -std::numeric_limits<double>::infinity()
                                              : std::numeric_limits<double>::infinity())
                         : best.get<double>();
  bad_epochs_ = state.at("bad_epochs").get<int64_t>();
  cooldown_left_ = state.at("cooldown_left").get<int64_t>();
}

// ---------------------------------------------------------------------------------------------

TimeSeriesLr::TimeSeriesLr(torch::optim::Optimizer& optimizer, Kind kind)
    : LrScheduler(optimizer), kind_(kind) {}

std::string TimeSeriesLr::name() const {
  switch (kind_) {
    case Kind::kType1:
      return "type1";
    case Kind::kType2:
      return "type2";
    case Kind::kType3:
      return "type3";
  }
  return "type1";
}

void TimeSeriesLr::on_epoch(int64_t epoch, const std::map<std::string, double>& /*values*/) {
  switch (kind_) {
    case Kind::kType1:
      apply(base_lr_ * std::pow(kType1Decay, static_cast<double>(epoch - 1)));
      break;
    case Kind::kType2: {
      const auto it = type2_table().find(epoch);
      if (it != type2_table().end()) apply(it->second);
      break;
    }
    case Kind::kType3:
      apply(epoch < kType3HoldEpochs
                ? base_lr_
                : base_lr_ * std::pow(kType3Decay, static_cast<double>(epoch - kType3HoldEpochs)));
      break;
  }
}

// ---------------------------------------------------------------------------------------------

OneCycleLr::OneCycleLr(torch::optim::Optimizer& optimizer, const Options& options)
    : LrScheduler(optimizer), options_(options) {
  require_scheduler(options_.total_steps > 0, "total_steps: must be positive");
  require_scheduler(options_.pct_start > 0 && options_.pct_start < 1,
                    "pct_start: must be in (0, 1)");
  require_scheduler(options_.div_factor > 0, "div_factor: must be positive");
  require_scheduler(options_.final_div_factor > 0, "final_div_factor: must be positive");
}

OneCycleLr::Position OneCycleLr::position(int64_t step) const {
  // PyTorch's phase ends: the peak at step pct_start * total - 1, the end at total - 1.
  const double peak = options_.pct_start * static_cast<double>(options_.total_steps) - 1.0;
  const double last = static_cast<double>(options_.total_steps) - 1.0;
  const double s = std::min(static_cast<double>(step), last);
  if (s <= peak) return {true, peak > 0 ? s / peak : 1.0};
  return {false, last > peak ? (s - peak) / (last - peak) : 1.0};
}

namespace {
// Cosine from `from` (fraction 0) to `to` (fraction 1).
double cosine_between(double from, double to, double fraction) {
  return to + (from - to) / 2.0 * (1.0 + std::cos(kPi * fraction));
}
}  // namespace

double OneCycleLr::lr_for_step(int64_t step) const {
  const double initial = base_lr_ / options_.div_factor;
  const double final_lr = initial / options_.final_div_factor;
  const Position p = position(step);
  return p.rising ? cosine_between(initial, base_lr_, p.fraction)
                  : cosine_between(base_lr_, final_lr, p.fraction);
}

double OneCycleLr::momentum_for_step(int64_t step) const {
  const Position p = position(step);
  return p.rising ? cosine_between(options_.max_momentum, options_.base_momentum, p.fraction)
                  : cosine_between(options_.base_momentum, options_.max_momentum, p.fraction);
}

void OneCycleLr::apply_step(int64_t step) {
  apply(lr_for_step(step));
  if (options_.cycle_momentum) set_momentum(optimizer_, momentum_for_step(step));
}

// ---------------------------------------------------------------------------------------------

nlohmann::json scheduler_config_defaults() {
  return {{"name", "constant"},      {"step_size", 10},         {"gamma", 0.1},
          {"interval", "epoch"},     {"warmup_steps", 0},       {"warmup_epochs", 0},
          {"total_steps", 0},
          {"min_lr", 0.0},           {"monitor", "val_loss"},   {"mode", "min"},
          {"factor", 0.1},           {"patience", 10},          {"threshold", 1e-4},
          {"threshold_mode", "rel"}, {"cooldown", 0},           {"pct_start", 0.3},
          {"div_factor", 25.0},      {"final_div_factor", 1e4}, {"cycle_momentum", true},
          {"base_momentum", 0.85},   {"max_momentum", 0.95}};
}

std::unique_ptr<LrScheduler> make_lr_scheduler(const nlohmann::json& section,
                                               torch::optim::Optimizer& optimizer,
                                               const ScheduleContext& context) {
  io::ConfigSection s(section, "scheduler");
  const std::string name =
      s.choice("name", "constant",
               {"constant", "step", "cosine", "one_cycle", "plateau", "type1", "type2", "type3"});
  s.allow({"step_size", "gamma", "interval", "warmup_steps", "warmup_epochs", "total_steps",
           "min_lr", "monitor",
           "mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "pct_start",
           "div_factor", "final_div_factor", "cycle_momentum", "base_momentum", "max_momentum"});
  std::unique_ptr<LrScheduler> scheduler;
  if (name == "constant") {
    scheduler = std::make_unique<ConstantLr>(optimizer);
  } else if (name == "step") {
    const int64_t step_size = s.integer("step_size", 10);
    const double gamma = s.number("gamma", 0.1);
    const bool by_step = s.choice("interval", "epoch", {"epoch", "step"}) == "step";
    scheduler = std::make_unique<StepLr>(optimizer, step_size, gamma, by_step);
  } else if (name == "cosine") {
    // Warm-up in epochs counts the steps of this run's epochs (fewer per rank when the data is
    // split over data-parallel ranks).
    const int64_t warmup =
        s.integer("warmup_steps", 0) + s.integer("warmup_epochs", 0) * context.steps_per_epoch;
    int64_t total = s.integer("total_steps", 0);
    if (total == 0) total = context.epochs * context.steps_per_epoch;
    const double min_lr = s.number("min_lr", 0.0);
    scheduler = std::make_unique<CosineWarmupLr>(optimizer, warmup, total, min_lr);
  } else if (name == "one_cycle") {
    OneCycleLr::Options o;
    o.total_steps = s.integer("total_steps", 0);
    if (o.total_steps == 0) o.total_steps = context.epochs * context.steps_per_epoch;
    o.pct_start = s.number("pct_start", o.pct_start);
    o.div_factor = s.number("div_factor", o.div_factor);
    o.final_div_factor = s.number("final_div_factor", o.final_div_factor);
    o.cycle_momentum = s.boolean("cycle_momentum", o.cycle_momentum);
    o.base_momentum = s.number("base_momentum", o.base_momentum);
    o.max_momentum = s.number("max_momentum", o.max_momentum);
    scheduler = std::make_unique<OneCycleLr>(optimizer, o);
  } else if (name == "plateau") {
    ReduceOnPlateauLr::Options o;
    o.monitor = s.string("monitor", o.monitor);
    o.maximize = s.choice("mode", "min", {"min", "max"}) == "max";
    o.factor = s.number("factor", o.factor);
    o.patience = s.integer("patience", o.patience);
    o.threshold = s.number("threshold", o.threshold);
    o.relative_threshold = s.choice("threshold_mode", "rel", {"rel", "abs"}) == "rel";
    o.cooldown = s.integer("cooldown", o.cooldown);
    o.min_lr = s.number("min_lr", o.min_lr);
    scheduler = std::make_unique<ReduceOnPlateauLr>(optimizer, o);
  } else {
    const auto kind = name == "type1"   ? TimeSeriesLr::Kind::kType1
                      : name == "type2" ? TimeSeriesLr::Kind::kType2
                                        : TimeSeriesLr::Kind::kType3;
    scheduler = std::make_unique<TimeSeriesLr>(optimizer, kind);
  }
  s.finish();
  return scheduler;
}

}  // namespace ssmkit::train
