// The training loop shared by every program: epochs of optimizer steps over a BatchSource, with
// validation each epoch, gradient clipping, learning-rate schedules, early stopping, bf16 mixed
// precision on CUDA, checkpoints (last, best, every N epochs), exact resume, the run's history
// (training_log.json, kept in checkpoints), one console line per epoch, callbacks (the progress
// bar, metrics.jsonl, TensorBoard and plots are callbacks of report/), an optional moving average
// of the weights (validated, kept as the best checkpoint and tested in place of the raw weights),
// and a final test with the best weights. A non-finite loss or gradient, or running out of memory,
// stops training with a TrainingError and leaves the last good checkpoint.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/optim/optimizer.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ssmkit/data/batch.h"
#include "ssmkit/metrics/evaluation_metrics.h"
#include "ssmkit/train/callback.h"
#include "ssmkit/train/distributed.h"
#include "ssmkit/train/early_stopping.h"
#include "ssmkit/train/lr_scheduler.h"
#include "ssmkit/train/run_directory.h"
#include "ssmkit/train/step_runner.h"
#include "ssmkit/train/trainable_model.h"
#include "ssmkit/train/training_log.h"
#include "ssmkit/train/weight_average.h"

namespace ssmkit::train {

struct TrainerConfig {
  int64_t epochs = 10;
  std::string device = "cpu";  // cpu | cuda | cuda:<index> | auto
  // Clip the global gradient norm to this; 0 = no clipping (the norm is logged either way).
  double grad_clip_norm = 0.0;
  bool mixed_precision = false;  // bf16 autocast on CUDA; ignored (with a log line) on the CPU
  EarlyStoppingConfig early_stopping;
  int64_t checkpoint_every = 0;    // also keep checkpoints/epoch_<N>.pt every N epochs; 0 = off
  int64_t weight_stats_every = 0;  // weight statistics every N steps (always at epoch end)
  // auto | bar | lines | off: read by the program's progress display (report::ProgressCallback);
  // kept here so that one "trainer" section configures a run.
  std::string progress = "auto";
  // How steps run on the device: auto | plain | fused | graph (see step_runner.h); auto is graph
  // on CUDA and plain on the CPU.
  std::string step = "auto";
  // Decay of the exponential moving average of the weights (weight_average.h) that validation,
  // the best checkpoint and the test use; 0 = off (the raw weights).
  double ema_decay = 0.0;
  // Internal precision of float32 matrix products, as torch.set_float32_matmul_precision:
  // highest (float32), high (TF32 on tensor cores where the device has them) or medium (bf16).
  // Set for the process when the Trainer is built (apply_float32_matmul_precision).
  std::string float32_matmul_precision = "highest";
  // Data-parallel training, when the program runs under ssmkit_run or torchrun (distributed.h):
  // the c10d backend (gloo, nccl or auto: nccl on CUDA, else gloo), how long the rendezvous and
  // each collective may wait for the other ranks, what happens to the examples past the last
  // multiple of the rank count (pad: repeat the epoch's first ones; drop), and the size of the
  // gradient buckets that start all-reducing during backward (0: one all-reduce after it).
  std::string dist_backend = "auto";
  double dist_timeout = 300.0;  // seconds
  std::string dist_uneven = "pad";
  double dist_bucket_mb = 25.0;

  // Reads the "trainer" section (early stopping nested as "early_stopping").
  static TrainerConfig from_json(const nlohmann::json& section);
  nlohmann::json to_json() const;
};

// Sets the process-wide precision of float32 matrix products from `config` (on GPUs with tensor
// cores "high" runs them as TF32, as PyTorch's cuDNN convolutions do by default). Programs that
// evaluate a checkpoint call it with the training run's config, to predict as the run tested.
void apply_float32_matmul_precision(const TrainerConfig& config);

struct FitResult {
  TrainEndInfo end;
  EvaluationResult test;  // phase "" when no test set was given
};

// Data-parallel training: the context of this process (joined from the environment of
// ssmkit_run or torchrun on the first call, with config's backend and timeout) after giving
// `train` this rank's shard of every epoch (config.dist_uneven). A single process returns a
// context without a group and leaves `train` whole. Call before building a per-step schedule:
// the shard has fewer batches.
DistributedContext& shard_training_data(data::BatchSource& train, const TrainerConfig& config,
                                        const c10::Device& device);

class Trainer {
 public:
  // Moves the model to the configured device (in place: the optimizer's tensors stay valid). A
  // null scheduler means a constant rate. Checkpoints and logs go to `run_dir` (created when
  // missing); with an empty one nothing is written and the best weights are kept in memory.
  Trainer(TrainerConfig config, TrainableModel& model, torch::optim::Optimizer& optimizer,
          LossFn loss, std::unique_ptr<LrScheduler> scheduler = nullptr, std::string run_dir = "");
  ~Trainer();

  // The resolved configuration stored in every checkpoint, so the model can be rebuilt from it.
  void set_run_config(nlohmann::json config) { run_config_ = std::move(config); }
  void add_callback(std::shared_ptr<Callback> callback);
  // Data-parallel training over `context`'s ranks (it must outlive the Trainer): fit() starts
  // every rank from rank 0's weights, each step averages the gradients (in buckets during
  // backward) and the loss over the ranks, validation values are averaged before they are
  // logged or decide early stopping, and callbacks run on rank 0 alone (a stop one asks for
  // stops every rank). Each rank gives fit() its own shard of the training data
  // (shard_training_data); give ranks other than 0 no run folder.
  void set_distributed(DistributedContext& context);
  // Metrics computed over every validation and test pass, reported as "val_<name>"/"test_<name>".
  void set_evaluation_metrics(std::shared_ptr<metrics::EvaluationMetrics> evaluation);

  // Continues a run from a checkpoint file or run folder (its checkpoints/last.pt): restores the
  // model, optimizer, schedule, early stopping, history, epoch, step and random generators.
  void resume(const std::string& checkpoint_or_run_dir);

  // Trains up to config.epochs (from where a resumed run stopped), validating each epoch when
  // `validation` is given; then, when `test` is given, loads the best weights and evaluates them.
  FitResult fit(data::BatchSource& train, data::BatchSource* validation = nullptr,
                data::BatchSource* test = nullptr);

  // Mean loss (weighted by batch size) and metrics over one pass, in evaluation mode without
  // gradients; metrics are named "<phase>_<name>".
  EvaluationResult evaluate(data::BatchSource& source, const std::string& phase);

  const c10::Device& device() const { return device_; }
  int64_t epoch() const { return epoch_; }
  int64_t global_step() const { return global_step_; }
  const TrainingLog& log() const { return log_; }
  // The gradient buckets of data-parallel training (null otherwise).
  const GradientBuckets* gradient_buckets() const { return steps_->gradient_buckets(); }
  // Data parallel: communication time that backward did not hide (step_runner.h).
  double exposed_communication_seconds() const { return steps_->exposed_communication_seconds(); }
  // plain, fused or graph: how steps ran (fused and graph fall back when they cannot run).
  StepMode step_mode() const { return steps_->mode(); }
  LrScheduler& scheduler() { return *scheduler_; }

 private:
  EpochSummary run_epoch(data::BatchSource& train, data::BatchSource* validation, int64_t epoch);
  StepInfo train_step(const data::Batch& batch, int64_t epoch, int64_t index, int64_t batches);
  void write_epoch_files(const EpochSummary& summary);
  // Data parallel: whether any rank asks to stop; the mean of the validation values.
  bool any_rank_stops(bool stop);
  void average_over_ranks(EpochSummary& summary);
  // Logs the weights' CRC-32C at the end of training; with several ranks, checks that every rank
  // has the same (TrainingError naming the rank when not).
  void check_weights_agree();
  void save(const std::string& path);
  void restore_best_weights();
  void finish(const std::string& status, const std::string& message);
  std::string last_checkpoint_note() const;
  nlohmann::json trainer_state() const;
  bool has_run_dir() const { return run_ != nullptr; }

  TrainerConfig config_;
  TrainableModel& model_;
  torch::optim::Optimizer& optimizer_;
  LossFn loss_;
  std::unique_ptr<LrScheduler> scheduler_;
  std::unique_ptr<RunDirectory> run_;  // null: no files
  c10::Device device_;
  std::vector<std::shared_ptr<Callback>> callbacks_;  // run on rank 0 only
  std::vector<std::shared_ptr<Callback>> muted_;      // kept, never run (ranks other than 0)
  std::shared_ptr<metrics::EvaluationMetrics> metrics_;
  EarlyStopping early_stopping_;
  nlohmann::json resumed_early_stopping_;  // applied in fit(), once the monitor is settled
  TrainingLog log_;
  nlohmann::json run_config_ = nlohmann::json::object();
  std::unique_ptr<StepRunner> steps_;
  DistributedContext* distributed_ = nullptr;
  std::unique_ptr<WeightAverage> average_;  // null unless config_.ema_decay > 0
  std::string best_snapshot_;               // serialized best weights when there is no run folder
  int64_t epoch_ = 0;                       // completed epochs
  int64_t global_step_ = 0;                 // completed optimizer steps
  int64_t last_checkpoint_epoch_ = 0;
  bool resumed_ = false;
};

}  // namespace ssmkit::train
