// The training loop.
#include "ssmkit/train/trainer.h"

#include <ATen/Context.h>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <new>
#include <sstream>

#include "ssmkit/io/config.h"
#include "ssmkit/io/error.h"
#include "ssmkit/metrics/weight_statistics.h"
#include "ssmkit/train/checkpoint.h"
#include "ssmkit/train/device.h"
#include "ssmkit/train/gradient_clipping.h"
#include "ssmkit/train/mixed_precision.h"
#include "ssmkit/train/optimizer_factory.h"
#include "ssmkit/train/run_directory.h"
#include "ssmkit/train/training_error.h"
#include "ssmkit/train/weight_checksum.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::train {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kLastCheckpoint = "last";
constexpr const char* kBestCheckpoint = "best";
constexpr const char* kTrainingLogFile = "training_log.json";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string format_value(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

// The monitor actually used: val_* values need a validation set, else train_loss stands in.
std::string effective_monitor(const std::string& monitor, bool has_validation) {
  if (has_validation || monitor.rfind("val_", 0) != 0) return monitor;
  spdlog::warn("early_stopping.monitor is {} but there is no validation set; monitoring train_loss",
               monitor);
  return "train_loss";
}

// Files "<name>.tmp.<pid>.<n>" in the checkpoint folder are leftovers of writes that a killed
// run never finished; the checkpoints themselves are intact (written by rename).
void remove_interrupted_writes(const std::string& folder) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.find(".tmp.") != std::string::npos) {
      spdlog::warn("removing {}, left by an interrupted checkpoint write", entry.path().string());
      fs::remove(entry.path(), error);
    }
  }
}

}  // namespace

TrainerConfig TrainerConfig::from_json(const nlohmann::json& section) {
  TrainerConfig c;
  io::ConfigSection s(section, "trainer");
  c.epochs = s.integer("epochs", c.epochs);
  c.device = s.string("device", c.device);
  c.grad_clip_norm = s.number("grad_clip_norm", c.grad_clip_norm);
  c.mixed_precision = s.boolean("mixed_precision", c.mixed_precision);
  c.early_stopping = EarlyStoppingConfig::from_json(s.section("early_stopping"));
  c.checkpoint_every = s.integer("checkpoint_every", c.checkpoint_every);
  c.weight_stats_every = s.integer("weight_stats_every", c.weight_stats_every);
  c.progress = s.choice("progress", c.progress, {"auto", "bar", "lines", "off"});
  c.step = s.choice("step", c.step, {"auto", "plain", "fused", "graph"});
  c.ema_decay = s.number("ema_decay", c.ema_decay);
  c.float32_matmul_precision = s.choice("float32_matmul_precision", c.float32_matmul_precision,
                                        {"highest", "high", "medium"});
  c.dist_backend = s.choice("dist_backend", c.dist_backend, {"auto", "gloo", "nccl"});
  c.dist_timeout = s.number("dist_timeout", c.dist_timeout);
  c.dist_uneven = s.choice("dist_uneven", c.dist_uneven, {"pad", "drop"});
  c.dist_bucket_mb = s.number("dist_bucket_mb", c.dist_bucket_mb);
  s.finish();
  if (!(c.dist_timeout > 0)) throw InputError("trainer.dist_timeout: must be positive (seconds)");
  if (!(c.dist_bucket_mb >= 0)) {
    throw InputError("trainer.dist_bucket_mb: must be >= 0 (0 = one all-reduce after backward)");
  }
  if (c.epochs <= 0) throw InputError("trainer.epochs: must be positive");
  if (c.grad_clip_norm < 0) throw InputError("trainer.grad_clip_norm: must be >= 0 (0 = off)");
  if (c.checkpoint_every < 0) throw InputError("trainer.checkpoint_every: must be >= 0 (0 = off)");
  if (c.weight_stats_every < 0) {
    throw InputError("trainer.weight_stats_every: must be >= 0 (0 = epoch end only)");
  }
  if (!(c.ema_decay >= 0.0 && c.ema_decay < 1.0)) {
    throw InputError("trainer.ema_decay: must be in [0, 1) (0 = no weight average), got " +
                     format_value(c.ema_decay));
  }
  return c;
}

nlohmann::json TrainerConfig::to_json() const {
  return {{"epochs", epochs},
          {"device", device},
          {"grad_clip_norm", grad_clip_norm},
          {"mixed_precision", mixed_precision},
          {"early_stopping", early_stopping.to_json()},
          {"checkpoint_every", checkpoint_every},
          {"weight_stats_every", weight_stats_every},
          {"progress", progress},
          {"step", step},
          {"ema_decay", ema_decay},
          {"float32_matmul_precision", float32_matmul_precision},
          {"dist_backend", dist_backend},
          {"dist_timeout", dist_timeout},
          {"dist_uneven", dist_uneven},
          {"dist_bucket_mb", dist_bucket_mb}};
}

void apply_float32_matmul_precision(const TrainerConfig& config) {
  at::globalContext().setFloat32MatmulPrecision(config.float32_matmul_precision);
}

// ---------------------------------------------------------------------------------------------

Trainer::Trainer(TrainerConfig config, TrainableModel& model, torch::optim::Optimizer& optimizer,
                 LossFn loss, std::unique_ptr<LrScheduler> scheduler, std::string run_dir)
    : config_(std::move(config)),
      model_(model),
      optimizer_(optimizer),
      loss_(std::move(loss)),
      scheduler_(std::move(scheduler)),
      run_(run_dir.empty() ? nullptr : std::make_unique<RunDirectory>(run_dir)),
      device_(resolve_device(config_.device, "trainer.device")),
      early_stopping_(config_.early_stopping) {
  TORCH_CHECK(static_cast<bool>(loss_), "Trainer: the loss function is empty");
  if (config_.epochs <= 0) throw InputError("trainer.epochs: must be positive");
  if (!scheduler_) scheduler_ = std::make_unique<ConstantLr>(optimizer_);
  model_.to(device_);
  apply_float32_matmul_precision(config_);
  if (config_.ema_decay > 0) {
    std::vector<std::pair<std::string, at::Tensor>> parameters;
    for (const auto& item : model_.named_parameters())
      parameters.emplace_back(item.key(), item.value());
    average_ = std::make_unique<WeightAverage>(std::move(parameters), config_.ema_decay);
  }
  if (config_.mixed_precision && !device_.is_cuda()) {
    spdlog::info("mixed precision (bf16 autocast) is CUDA-only; training in float32 on the CPU");
  }
  steps_ =
      std::make_unique<StepRunner>(parse_step_mode(config_.step, device_, "trainer.step"), model_,
                                   optimizer_, loss_, config_.mixed_precision, device_);
}

Trainer::~Trainer() = default;

void Trainer::add_callback(std::shared_ptr<Callback> callback) {
  TORCH_CHECK(callback != nullptr, "Trainer::add_callback: callback is null");
  (distributed_ != nullptr && !distributed_->is_main() ? muted_ : callbacks_)
      .push_back(std::move(callback));
}

DistributedContext& shard_training_data(data::BatchSource& train, const TrainerConfig& config,
                                        const c10::Device& device) {
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(config.dist_timeout * 1000));
  DistributedContext& context =
      DistributedContext::of_process(config.dist_backend, device, timeout);
  if (context.is_distributed()) {
    train.set_shard({context.rank(), context.world_size(), config.dist_uneven == "drop"});
  }
  return context;
}

void Trainer::set_evaluation_metrics(std::shared_ptr<metrics::EvaluationMetrics> evaluation) {
  metrics_ = std::move(evaluation);
}

nlohmann::json Trainer::trainer_state() const {
  nlohmann::json state = {{"scheduler", scheduler_->state_dict()},
                          {"early_stopping", early_stopping_.state_dict()},
                          {"log", log_.to_json()}};
  if (average_) state["weight_average_updates"] = average_->updates();
  return state;
}

void Trainer::resume(const std::string& checkpoint_or_run_dir) {
  const std::string path = resolve_checkpoint_path(checkpoint_or_run_dir);
  const CheckpointState state =
      load_checkpoint(path, model_, &optimizer_, device_, /*restore_rng=*/true);
  try {
    scheduler_->load_state_dict(state.trainer.at("scheduler"));
    resumed_early_stopping_ = state.trainer.at("early_stopping");
    log_ = TrainingLog::from_json(state.trainer.at("log"));
    if (average_ && !state.tensors.empty()) {
      try {
        average_->load(state.tensors, state.trainer.at("weight_average_updates").get<int64_t>());
      } catch (const InputError& e) {
        throw InputError(path + ": " + e.what());
      }
    } else if (average_) {
      // The run trained without an average so far: it starts from the resumed weights.
      average_->reset_to_parameters();
      spdlog::info("{} holds no weight average; averaging starts from its weights", path);
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": checkpoint trainer state is incomplete (" + e.what() + ")");
  }
  if (run_config_.empty()) run_config_ = state.config;
  epoch_ = state.epoch;
  global_step_ = state.global_step;
  last_checkpoint_epoch_ = state.epoch;
  resumed_ = true;
  spdlog::info("resumed {} at epoch {}, step {} (learning rate {})", path, epoch_, global_step_,
               format_value(scheduler_->lr()));
}

std::string Trainer::last_checkpoint_note() const {
  if (!has_run_dir() || last_checkpoint_epoch_ == 0) return "no checkpoint was written yet";
  return "the last good checkpoint is " + run_->checkpoint(kLastCheckpoint) + " (epoch " +
         std::to_string(last_checkpoint_epoch_) + ")";
}

void Trainer::save(const std::string& path) {
  CheckpointState state;
  state.epoch = epoch_;
  state.global_step = global_step_;
  state.config = run_config_;
  state.trainer = trainer_state();
  if (average_) state.tensors = average_->averages();
  save_checkpoint(path, model_, &optimizer_, state);
}

StepInfo Trainer::train_step(const data::Batch& batch, int64_t epoch, int64_t index,
                             int64_t batches) {
  check_defined(batch.inputs, "Trainer", "batch.inputs");
  TORCH_CHECK(batch.inputs.dim() >= 1, "Trainer: 'batch.inputs' needs a batch dimension, got ",
              shape_string(batch.inputs.sizes()));
  const auto inputs = batch.inputs.to(device_, /*non_blocking=*/true);
  const auto targets =
      batch.targets.defined() ? batch.targets.to(device_, /*non_blocking=*/true) : at::Tensor();

  // One device-to-host copy per step for both the loss and the gradient norm.
  const auto host = steps_->forward_backward(inputs, targets).cpu();
  StepInfo info;
  info.epoch = epoch;
  info.step = global_step_ + 1;
  info.batch = index;
  info.batches = batches;
  info.batch_size = batch.inputs.size(0);
  info.loss = host[0].item<double>();
  info.grad_norm = host[1].item<double>();
  info.lr = learning_rate(optimizer_);
  const std::string where = "epoch " + std::to_string(epoch) + ", step " +
                            std::to_string(info.step) + " (batch " + std::to_string(index) +
                            " of " + std::to_string(batches) + ")";
  if (!std::isfinite(info.loss)) {
    throw TrainingError("non-finite loss (" + format_value(info.loss) + ") at " + where +
                        "; training stopped, " + last_checkpoint_note() +
                        ". Try a lower learning rate (optimizer.lr) or gradient clipping "
                        "(trainer.grad_clip_norm).");
  }
  if (!std::isfinite(info.grad_norm)) {
    throw TrainingError("non-finite gradient norm (" + format_value(info.grad_norm) + ") at " +
                        where + " with loss " + format_value(info.loss) + "; training stopped, " +
                        last_checkpoint_note() +
                        ". Try a lower learning rate (optimizer.lr) or gradient clipping "
                        "(trainer.grad_clip_norm).");
  }
  const double factor = clip_factor(info.grad_norm, config_.grad_clip_norm);
  if (factor != 1.0) steps_->scale_gradients(factor);
  steps_->optimizer_step();
  if (average_) average_->update();
  ++global_step_;
  scheduler_->after_step(global_step_);
  return info;
}

EpochSummary Trainer::run_epoch(data::BatchSource& train, data::BatchSource* validation,
                                int64_t epoch) {
  const auto start = Clock::now();
  const int64_t batches = train.num_batches();
  model_.train(true);
  train.reset(epoch);
  for (const auto& callback : callbacks_)
    callback->on_epoch_begin(epoch, batches);
  double loss_sum = 0;
  int64_t examples = 0;
  int64_t index = 0;
  double last_lr = scheduler_->lr();
  data::Batch batch;
  std::vector<metrics::ParameterStatistics> weights;
  while (train.next(batch)) {
    ++index;
    StepInfo info = train_step(batch, epoch, index, batches);
    loss_sum += info.loss * static_cast<double>(info.batch_size);
    examples += info.batch_size;
    last_lr = info.lr;
    if (config_.weight_stats_every > 0 && info.step % config_.weight_stats_every == 0) {
      weights = metrics::parameter_statistics(model_.named_parameters());
      info.weights = &weights;
    }
    for (const auto& callback : callbacks_)
      callback->on_batch_end(info);
  }
  if (index == 0) {
    throw InputError("the training data produced no batches in epoch " + std::to_string(epoch) +
                     " (" + std::to_string(train.num_examples()) + " examples)");
  }

  EpochSummary summary;
  summary.epoch = epoch;
  summary.step = global_step_;
  summary.train_loss = loss_sum / static_cast<double>(examples);
  summary.lr = last_lr;
  if (validation != nullptr) {
    const AveragedWeightsScope averaged(average_.get());
    const EvaluationResult val = evaluate(*validation, "val");
    summary.val_loss = val.loss;
    summary.metrics = val.metrics;
    average_over_ranks(summary);
  }
  const auto values = summary.values();
  const std::string& monitor = early_stopping_.config().monitor;
  const auto monitored = values.find(monitor);
  if (monitored == values.end()) {
    std::string available;
    for (const auto& [name, value] : values)
      available += (available.empty() ? "" : ", ") + name;
    throw InputError("early_stopping.monitor: '" + monitor +
                     "' is not computed in this run; available: " + available);
  }
  summary.improved = early_stopping_.update(epoch, monitored->second);
  scheduler_->after_epoch(epoch, values);
  summary.next_lr = scheduler_->lr();
  summary.weights = metrics::parameter_statistics(model_.named_parameters());
  summary.seconds = seconds_since(start);
  epoch_ = epoch;
  return summary;
}

void Trainer::write_epoch_files(const EpochSummary& summary) {
  if (!has_run_dir()) {
    if (summary.improved) {
      // Keep the best weights in memory for the test pass.
      const AveragedWeightsScope averaged(average_.get());
      torch::serialize::OutputArchive archive;
      model_.save(archive);
      std::ostringstream bytes;
      archive.save_to(bytes);
      best_snapshot_ = bytes.str();
    }
    return;
  }
  const RunDirectory& run = *run_;
  const auto save_and_tell = [&](const std::string& kind, const std::string& path) {
    save(path);
    const CheckpointSaved info{kind, path, epoch_, global_step_};
    for (auto& callback : callbacks_)
      callback->on_checkpoint_saved(info);
  };
  save_and_tell("last", run.checkpoint(kLastCheckpoint));
  last_checkpoint_epoch_ = summary.epoch;
  if (summary.improved) {
    // The weights that were validated: the average when there is one.
    const AveragedWeightsScope averaged(average_.get());
    save_and_tell("best", run.checkpoint(kBestCheckpoint));
  }
  if (config_.checkpoint_every > 0 && summary.epoch % config_.checkpoint_every == 0) {
    char name[32];
    std::snprintf(name, sizeof(name), "epoch_%04lld", static_cast<long long>(summary.epoch));
    save_and_tell("periodic", run.checkpoint(name));
  }
  log_.write(run.file(kTrainingLogFile));
}

void Trainer::restore_best_weights() {
  if (has_run_dir()) {
    const std::string best = run_->checkpoint(kBestCheckpoint);
    if (fs::exists(best)) {
      load_checkpoint(best, model_, nullptr, device_, /*restore_rng=*/false);
      spdlog::info("testing the best weights (epoch {}, {} {})", early_stopping_.best_epoch(),
                   early_stopping_.config().monitor, format_value(early_stopping_.best()));
      return;
    }
  } else if (!best_snapshot_.empty()) {
    torch::serialize::InputArchive archive;
    std::istringstream bytes(best_snapshot_);
    archive.load_from(bytes, device_);
    model_.load(archive);
    spdlog::info("testing the best weights (epoch {})", early_stopping_.best_epoch());
    return;
  }
  if (average_ && !average_->swapped()) average_->swap();
  spdlog::warn(
      "no best weights were recorded (the monitored value was never finite); testing "
      "the last {}weights",
      average_ ? "averaged " : "");
}

void Trainer::finish(const std::string& status, const std::string& message) {
  log_.status = status;
  log_.message = message;
  if (has_run_dir()) log_.write(run_->file(kTrainingLogFile));
  TrainEndInfo info;
  info.status = status;
  info.message = message;
  info.epochs_completed = epoch_;
  info.global_step = global_step_;
  info.monitor = early_stopping_.config().monitor;
  info.best_epoch = early_stopping_.best_epoch();
  info.best_value = early_stopping_.has_best() ? early_stopping_.best() : kNoValue;
  for (const auto& callback : callbacks_)
    callback->on_train_end(info);
}

void Trainer::set_distributed(DistributedContext& context) {
  distributed_ = &context;
  steps_->set_distributed(&context, static_cast<int64_t>(config_.dist_bucket_mb * 1024.0 * 1024.0));
  if (!context.is_main()) {
    muted_.insert(muted_.end(), callbacks_.begin(), callbacks_.end());
    callbacks_.clear();
  }
}

bool Trainer::any_rank_stops(bool stop) {
  if (distributed_ == nullptr || !distributed_->is_distributed()) return stop;
  return distributed_->all_reduce_mean(stop ? 1.0 : 0.0) > 0.0;
}

void Trainer::average_over_ranks(EpochSummary& summary) {
  if (distributed_ == nullptr || !distributed_->is_distributed() || std::isnan(summary.val_loss))
    return;
  // The ranks validated the same weights on the same data; averaging makes their values equal
  // to the last bit, so that every rank takes the same early-stopping and schedule decisions.
  std::vector<double> values = {summary.val_loss};
  for (const auto& [name, value] : summary.metrics)
    values.push_back(value);
  std::vector<at::Tensor> sum = {torch::tensor(values, torch::kFloat64)};
  distributed_->all_reduce_sum(sum);
  sum[0].div_(static_cast<double>(distributed_->world_size()));
  const auto averaged = sum[0].accessor<double, 1>();
  summary.val_loss = averaged[0];
  int64_t i = 1;
  for (auto& [name, value] : summary.metrics)
    value = averaged[i++];
}

void Trainer::check_weights_agree() {
  const uint32_t mine = weight_checksum(model_);
  if (distributed_ == nullptr || !distributed_->is_distributed()) {
    spdlog::info("weights CRC-32C {}", checksum_text(mine));
    return;
  }
  // Every rank applied the same averaged gradients to the same starting weights, so the weights
  // must agree to the bit; a difference (a non-deterministic all-reduce, a rank that skipped a
  // step) would otherwise go unseen, as only rank 0 saves and tests.
  const int64_t ranks = distributed_->world_size();
  std::vector<at::Tensor> slots = {torch::zeros({ranks}, torch::kInt64)};
  slots[0][distributed_->rank()] = static_cast<int64_t>(mine);
  distributed_->all_reduce_sum(slots);
  const auto checksums = slots[0].accessor<int64_t, 1>();
  for (int64_t rank = 1; rank < ranks; ++rank) {
    if (checksums[rank] != checksums[0]) {
      const std::string message = "the ranks' weights differ after training: rank " +
                                  std::to_string(rank) + " has CRC-32C " +
                                  checksum_text(static_cast<uint32_t>(checksums[rank])) +
                                  ", rank 0 " + checksum_text(static_cast<uint32_t>(checksums[0]));
      finish("failed", message);
      throw TrainingError(message);
    }
  }
  spdlog::info("weights identical on all {} ranks (CRC-32C {})", ranks,
               checksum_text(static_cast<uint32_t>(checksums[0])));
}

FitResult Trainer::fit(data::BatchSource& train, data::BatchSource* validation,
                       data::BatchSource* test) {
  if (distributed_ == nullptr && DistributedEnvironment::from_environment().present) {
    throw InputError(
        "this program runs under a data-parallel launcher (RANK is set) but its trainer has no "
        "process group (Trainer::set_distributed)");
  }
  if (distributed_ != nullptr && distributed_->has_group() && !resumed_) {
    // Identical starting weights on every rank, whatever each rank's seed made.
    torch::NoGradGuard no_grad;
    std::vector<at::Tensor> weights = model_.parameters();
    distributed_->broadcast(weights, 0);
  }
  const int64_t steps_per_epoch = train.num_batches();
  if (steps_per_epoch <= 0) {
    throw InputError("the training data holds no complete batch (" +
                     std::to_string(train.num_examples()) +
                     " examples); use a smaller batch size or more data");
  }
  // Settle the monitor, then apply a resumed early-stopping state to it.
  EarlyStoppingConfig stopping = config_.early_stopping;
  stopping.monitor = effective_monitor(stopping.monitor, validation != nullptr);
  early_stopping_ = EarlyStopping(stopping);
  if (!resumed_early_stopping_.is_null()) early_stopping_.load_state_dict(resumed_early_stopping_);
  log_.monitor = stopping.monitor;

  if (!resumed_) scheduler_->start();
  if (has_run_dir()) remove_interrupted_writes(run_->checkpoints_folder());

  TrainBeginInfo begin;
  begin.first_epoch = epoch_ + 1;
  begin.epochs = config_.epochs;
  begin.steps_per_epoch = steps_per_epoch;
  begin.global_step = global_step_;
  begin.device = device_.str();
  begin.run_dir = has_run_dir() ? run_->path() : "";
  begin.resumed = resumed_;
  spdlog::info("training {} parameters on {}: epochs {}..{}, {} steps per epoch ({} steps)",
               model_.parameter_count(), device_.str(), begin.first_epoch, config_.epochs,
               steps_per_epoch, step_mode_name(steps_->mode()));
  for (const auto& callback : callbacks_)
    callback->on_train_begin(begin);

  std::string status = log_.status == "running" ? "completed" : log_.status;
  if (status != "completed") spdlog::info("the run had already ended ({})", status);
  log_.status = "running";
  try {
    for (int64_t epoch = epoch_ + 1; epoch <= config_.epochs && status == "completed"; ++epoch) {
      const EpochSummary summary = run_epoch(train, validation, epoch);
      log_.epochs.push_back(summary);
      log_.best_epoch = early_stopping_.best_epoch();
      log_.best_value = early_stopping_.has_best() ? early_stopping_.best() : kNoValue;
      // Set before the checkpoint, so that resuming an early-stopped run does not train on.
      if (early_stopping_.should_stop()) {
        status = "stopped_early";
        log_.status = status;
      }
      // The callbacks first (metrics.jsonl, TensorBoard): a run killed before its checkpoint
      // drops what they wrote for this epoch again on resume.
      for (const auto& callback : callbacks_)
        callback->on_epoch_end(summary);
      write_epoch_files(summary);

      std::string line = "epoch " + std::to_string(epoch) + "/" + std::to_string(config_.epochs) +
                         "  train_loss " + format_value(summary.train_loss);
      if (!std::isnan(summary.val_loss)) line += "  val_loss " + format_value(summary.val_loss);
      for (const auto& [name, value] : summary.metrics)
        line += "  " + name + " " + format_value(value);
      line += "  lr " + format_value(summary.lr);
      if (summary.next_lr != summary.lr) line += " -> " + format_value(summary.next_lr);
      char seconds[32];
      std::snprintf(seconds, sizeof(seconds), "  %.1f s", summary.seconds);
      line += seconds;
      if (summary.improved) line += "  (best)";
      spdlog::info("{}", line);
      if (status == "stopped_early") {
        spdlog::info("early stopping: {} has not improved for {} epochs (best {} at epoch {})",
                     stopping.monitor, early_stopping_.epochs_without_improvement(),
                     format_value(early_stopping_.best()), early_stopping_.best_epoch());
      }
      // Asked after on_epoch_end, so a callback can decide on this epoch's summary. Such a stop
      // is not in the checkpoint: resuming the run trains on.
      bool asked = false;
      for (const auto& callback : callbacks_)
        asked = asked || callback->should_stop();
      if (any_rank_stops(asked) && status == "completed") status = "stopped_by_callback";
    }
  } catch (const c10::OutOfMemoryError& e) {
    const std::string message =
        "out of memory on " + device_.str() + " at epoch " + std::to_string(epoch_ + 1) +
        ", step " + std::to_string(global_step_ + 1) + " (" + first_line_of(e) +
        "); reduce the batch size or the model size; " + last_checkpoint_note();
    finish("failed", message);
    throw TrainingError(message);
  } catch (const std::bad_alloc&) {
    const std::string message = "out of host memory at epoch " + std::to_string(epoch_ + 1) +
                                ", step " + std::to_string(global_step_ + 1) +
                                "; reduce the batch size or the model size; " +
                                last_checkpoint_note();
    finish("failed", message);
    throw TrainingError(message);
  } catch (const std::exception& e) {
    finish("failed", first_line_of(e));
    throw;
  }

  check_weights_agree();

  FitResult result;
  if (test != nullptr) {
    restore_best_weights();
    result.test = evaluate(*test, "test");
    log_.test = to_json(result.test);
    std::string line = "test loss " + format_value(result.test.loss);
    for (const auto& [name, value] : result.test.metrics)
      line += "  " + name + " " + format_value(value);
    spdlog::info("{}", line);
  }
  finish(status, "");
  result.end.status = status;
  result.end.epochs_completed = epoch_;
  result.end.global_step = global_step_;
  result.end.monitor = stopping.monitor;
  result.end.best_epoch = early_stopping_.best_epoch();
  result.end.best_value = early_stopping_.has_best() ? early_stopping_.best() : kNoValue;
  return result;
}

EvaluationResult Trainer::evaluate(data::BatchSource& source, const std::string& phase) {
  const auto start = Clock::now();
  model_.train(false);
  torch::NoGradGuard no_grad;
  source.reset(std::max<int64_t>(epoch_, 1));
  if (metrics_) metrics_->reset();
  double loss_sum = 0;
  int64_t examples = 0;
  data::Batch batch;
  while (source.next(batch)) {
    check_defined(batch.inputs, "Trainer::evaluate", "batch.inputs");
    const auto inputs = batch.inputs.to(device_, /*non_blocking=*/true);
    const auto targets =
        batch.targets.defined() ? batch.targets.to(device_, /*non_blocking=*/true) : at::Tensor();
    at::Tensor outputs;
    at::Tensor loss;
    {
      outputs = steps_->evaluation_forward(inputs);
      AutocastGuard autocast(config_.mixed_precision, device_);
      loss = loss_(outputs, targets);
    }
    const int64_t size = batch.inputs.size(0);
    loss_sum += loss.item<double>() * static_cast<double>(size);
    examples += size;
    if (metrics_) metrics_->update(outputs.detach(), targets);
  }
  model_.train(true);

  EvaluationResult result;
  result.phase = phase;
  result.examples = examples;
  result.loss = examples > 0 ? loss_sum / static_cast<double>(examples) : kNoValue;
  if (examples == 0) spdlog::warn("the {} data produced no batches", phase);
  if (examples > 0 && !std::isfinite(result.loss)) {
    spdlog::warn("{} loss is not finite ({})", phase, format_value(result.loss));
  }
  if (metrics_ && examples > 0) {
    for (const auto& [name, value] : metrics_->compute())
      result.metrics[phase + "_" + name] = value;
  }
  result.seconds = seconds_since(start);
  for (const auto& callback : callbacks_)
    callback->on_evaluation_end(result);
  return result;
}

}  // namespace ssmkit::train
