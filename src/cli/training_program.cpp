// Standard configuration and wiring of training programs.
#include "ssmkit/cli/training_program.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <torch/optim/sgd.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "ssmkit/report/metrics_stream_callback.h"
#include "ssmkit/report/progress_callback.h"
#include "ssmkit/train/checkpoint.h"
#include "ssmkit/train/device.h"
#include "ssmkit/train/distributed.h"
#include "ssmkit/train/optimizer_factory.h"
#include "ssmkit/train/seed.h"

namespace ssmkit::cli {

using namespace ssmkit::train;

namespace {

// Every section is checked before the run folder exists, so that a bad value leaves nothing
// behind: the optimizer and trainer sections by parsing them, the schedule by building it once
// on a stand-in optimizer.
void check_sections(const nlohmann::json& config, int64_t steps_per_epoch) {
  (void)OptimizerConfig::from_json(config.at("optimizer"));
  const TrainerConfig trainer = TrainerConfig::from_json(config.at("trainer"));
  (void)report::parse_progress_mode(trainer.progress, "--progress");
  torch::optim::SGD stand_in(std::vector<at::Tensor>{at::zeros({1})},
                             torch::optim::SGDOptions(1.0));
  (void)make_lr_scheduler(config.at("scheduler"), stand_in,
                          ScheduleContext{steps_per_epoch, trainer.epochs});
}

RunDirectory open_run(const nlohmann::json& config, int64_t steps_per_epoch) {
  check_sections(config, steps_per_epoch);
  const nlohmann::json& run = config.at("run");
  const std::string resume = run.at("resume").get<std::string>();
  if (!resume.empty()) return RunDirectory::of(resolve_checkpoint_path(resume));
  return RunDirectory::create(run.at("output_dir").get<std::string>(),
                              run.at("project_name").get<std::string>());
}

}  // namespace

nlohmann::json training_config_defaults() {
  return {{"run",
           {{"seed", kDefaultSeed}, {"output_dir", "runs"}, {"project_name", ""}, {"resume", ""}}},
          {"optimizer", OptimizerConfig().to_json()},
          {"scheduler", scheduler_config_defaults()},
          {"trainer", TrainerConfig().to_json()}};
}

nlohmann::json resolve_training_config(const ParsedArguments& args,
                                       const std::vector<ConfigFlag>& flags,
                                       const nlohmann::json& defaults) {
  nlohmann::json config = resolve_config(args, flags, defaults);
  const std::string resume = io::config_value(config, "run.resume").get<std::string>();
  if (resume.empty()) return config;
  const auto saved = read_checkpoint_state(resolve_checkpoint_path(resume)).config;
  return resolve_config(args, flags, saved);
}

std::vector<ConfigFlag> training_flags() {
  return {
      {"seed", "run.seed", "random seed of weights, dropout and shuffling"},
      {"output_dir", "run.output_dir", "folder that receives the run folder"},
      {"project_name", "run.project_name", "run folder name (default: a timestamp)"},
      {"resume", "run.resume", "continue the run of this checkpoint or run folder"},
      {"optimizer", "optimizer.name", "adam, adamw or sgd"},
      {"lr", "optimizer.lr", "learning rate"},
      {"weight_decay", "optimizer.weight_decay", "weight decay"},
      {"lradj", "scheduler.name",
       "learning-rate schedule: constant, step, cosine, plateau, type1, type2, type3"},
      {"warmup_steps", "scheduler.warmup_steps", "linear warmup steps of the cosine schedule"},
      {"epochs", "trainer.epochs", "training epochs"},
      {"patience", "trainer.early_stopping.patience",
       "epochs without improvement before stopping (0 = never)"},
      {"grad_clip", "trainer.grad_clip_norm", "clip the gradient norm to this (0 = off)"},
      {"device", "trainer.device", "cpu, cuda, cuda:<index> or auto"},
      {"mixed_precision", "trainer.mixed_precision", "bf16 autocast on CUDA"},
      {"step_mode", "trainer.step",
       "how steps run: auto (graph on CUDA, plain on the CPU), plain, fused or graph"},
      {"progress", "trainer.progress", "progress display: auto, bar, lines or off"},
      {"checkpoint_every", "trainer.checkpoint_every", "also keep a checkpoint every N epochs"},
      {"ema_decay", "trainer.ema_decay",
       "validate, keep and test a moving average of the weights with this decay (0 = off)"},
      {"float32_matmul_precision", "trainer.float32_matmul_precision",
       "float32 matrix products: highest (float32), high (TF32 on GPU tensor cores) or medium "
       "(bf16)"},
      {"dist_backend", "trainer.dist_backend",
       "data-parallel runs (ssmkit_run, torchrun): gloo, nccl or auto (nccl on CUDA)"},
      {"dist_timeout", "trainer.dist_timeout",
       "seconds the rendezvous and each collective wait for the other ranks"},
      {"dist_uneven", "trainer.dist_uneven",
       "examples past a multiple of the rank count: pad (repeat the first) or drop"},
      {"dist_bucket_mb", "trainer.dist_bucket_mb",
       "gradient bucket size (MB) all-reduced during backward (0 = one all-reduce after it)"},
  };
}

TrainingSession::TrainingSession(const nlohmann::json& config, TrainableModel& model, LossFn loss,
                                 data::BatchSource& train) {
  TrainerConfig trainer_config = TrainerConfig::from_json(config.at("trainer"));
  c10::Device device = resolve_device(trainer_config.device, "--device");
  const DistributedEnvironment environment = DistributedEnvironment::from_environment();
  if (environment.present && device.is_cuda() && !device.has_index()) {
    // One GPU per local rank, as with torchrun.
    device = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(environment.local_rank));
    trainer_config.device = device.str();
  }
  // Before any folder exists: a rendezvous that fails leaves nothing behind.
  context_ = &shard_training_data(train, trainer_config, device);
  const int64_t steps_per_epoch = train.num_batches();
  // Before the run folder too: lr_scales are checked against the model's parameter names here.
  optimizer_ =
      make_optimizer(OptimizerConfig::from_json(config.at("optimizer")), model.named_parameters());
  if (context_->is_main()) {
    run_ = std::make_unique<RunDirectory>(open_run(config, steps_per_epoch));
    run_->write_config(config);
  } else {
    check_sections(config, steps_per_epoch);
    scratch_ =
        (std::filesystem::temp_directory_path() /
         ("ssmkit-rank" + std::to_string(context_->rank()) + "-" + std::to_string(::getpid())))
            .string();
    run_ = std::make_unique<RunDirectory>(scratch_);
    // What a person reads comes from rank 0; the others report warnings and errors only.
    spdlog::set_level(spdlog::level::warn);
    if (std::freopen("/dev/null", "w", stdout) == nullptr) {
      spdlog::warn("rank {}: standard output stays open", context_->rank());
    }
  }
  auto scheduler = make_lr_scheduler(config.at("scheduler"), *optimizer_,
                                     ScheduleContext{steps_per_epoch, trainer_config.epochs});
  trainer_ = std::make_unique<Trainer>(trainer_config, model, *optimizer_, std::move(loss),
                                       std::move(scheduler),
                                       context_->is_main() ? run_->path() : std::string());
  trainer_->set_distributed(*context_);
  trainer_->set_run_config(config);
  trainer_->add_callback(std::make_shared<report::ProgressCallback>(
      report::parse_progress_mode(trainer_config.progress, "--progress")));
  trainer_->add_callback(std::make_shared<report::MetricsStreamCallback>());
  const std::string resume = config.at("run").at("resume").get<std::string>();
  if (!resume.empty()) trainer_->resume(resume);
}

TrainingSession::~TrainingSession() {
  trainer_.reset();
  if (!scratch_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(scratch_, ignored);
  }
}

}  // namespace ssmkit::cli
