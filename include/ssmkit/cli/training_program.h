// What every training program shares: the standard configuration sections and their flags,
// resolving the configuration of a fresh or a resumed run, and building the run folder,
// optimizer, schedule and trainer from it, with the standard reports (progress bar,
// metrics.jsonl) attached. A program adds its own sections ("model", "data"),
// seeds, builds its model and data from the configuration, and calls fit().
#pragma once

#include <torch/optim/optimizer.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "ssmkit/cli/config_flags.h"
#include "ssmkit/data/batch.h"
#include "ssmkit/train/run_directory.h"
#include "ssmkit/train/trainer.h"

namespace ssmkit::cli {

// {"run": {"seed", "output_dir", "project_name", "resume"}, "optimizer": {..}, "scheduler": {..},
//  "trainer": {..}} with every key at its default.
nlohmann::json training_config_defaults();

// Flags for the common keys: --seed --output_dir --project_name --resume --optimizer --lr
// --weight_decay --lradj --warmup_steps --epochs --patience --grad_clip --device
// --mixed_precision --progress --checkpoint_every.
std::vector<ConfigFlag> training_flags();

// The resolved configuration, in config_flags.h's order. When run.resume is set, the base is the
// checkpoint's configuration instead of `defaults`: the resumed run rebuilds the same model, and
// what the command line gives now (e.g. a larger --epochs) still applies.
nlohmann::json resolve_training_config(const ParsedArguments& args,
                                       const std::vector<ConfigFlag>& flags,
                                       const nlohmann::json& defaults);

// The run folder, optimizer, schedule and trainer of a resolved configuration.
class TrainingSession {
 public:
  // Joins data-parallel training when the program was started by ssmkit_run or torchrun and
  // gives `train` this rank's shard (train::shard_training_data); creates the run folder (or
  // reopens the one being resumed) and writes config.json; builds the optimizer over `model`'s
  // parameters, the schedule (over the shard's batches) and the trainer; resumes when
  // run.resume is set. Seed (train::seed_everything(run.seed)) before building the model.
  //
  // Only rank 0 writes: the other ranks get a private scratch folder as run() (removed by the
  // destructor) for whatever the program writes after training, no checkpoints, no callbacks,
  // and their standard output and info logging are silenced.
  TrainingSession(const nlohmann::json& config, train::TrainableModel& model, train::LossFn loss,
                  data::BatchSource& train);
  ~TrainingSession();
  TrainingSession(const TrainingSession&) = delete;
  TrainingSession& operator=(const TrainingSession&) = delete;

  train::Trainer& trainer() { return *trainer_; }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  const train::RunDirectory& run() const { return *run_; }
  // Rank 0 of a data-parallel run, or the only process.
  bool is_main() const { return context_->is_main(); }

 private:
  train::DistributedContext* context_;
  std::unique_ptr<train::RunDirectory> run_;
  std::string scratch_;  // ranks other than 0: run_'s folder, removed at the end
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<train::Trainer> trainer_;
};

}  // namespace ssmkit::cli
