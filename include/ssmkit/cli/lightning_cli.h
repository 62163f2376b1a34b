// What a program needs to take command lines and configs written for PyTorch Lightning's
// LightningCLI: the "trainer" section with Lightning's keys and defaults (so the config.yaml that
// Lightning writes reads back), the normalisation of Lightning's class_path/init_args forms, the
// translation of that section into ssmkit's run/optimizer/scheduler/trainer sections, and the
// lightning_logs/version_N folders.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ssmkit/cli/config_flags.h"

namespace ssmkit::cli {

// The callbacks ssmkit provides under Lightning's names. The progress bar, checkpoints, metrics.csv
// and TensorBoard are always on; LearningRateMonitor adds the learning rate to them, and
// EMAWeightAveraging keeps an exponential moving average of the weights (train/weight_average.h),
// which validation and the checkpoints' tests use.
inline constexpr const char* kLearningRateMonitor = "LearningRateMonitor";
inline constexpr const char* kEmaWeightAveraging = "EMAWeightAveraging";
// Lightning's default decay of EMAWeightAveraging.
inline constexpr double kDefaultEmaDecay = 0.999;

// Lightning Trainer's arguments with its defaults; those ssmkit acts on are listed in
// lightning_cli.cpp, the rest are accepted while they keep their defaults. Adds
// "logging_interval" (LearningRateMonitor's setting, flag --trainer.callbacks.logging_interval)
// and "ema_decay" (EMAWeightAveraging's decay, flag --trainer.callbacks.decay).
nlohmann::json lightning_trainer_defaults();

// Named flags for Lightning's shorthand: --trainer.callbacks.logging_interval and
// --trainer.callbacks.decay.
std::vector<ConfigFlag> lightning_trainer_flags();

// In place: "class_path" values reduced to their last dotted part ("network.ti_mae.TiMAE" ->
// "TiMAE"); trainer.callbacks given as Lightning writes them ({class_path, init_args}) reduced to
// names (each once), with LearningRateMonitor's logging_interval moved to trainer.logging_interval
// and EMAWeightAveraging's decay to trainer.ema_decay (its default when the callback is on).
// InputError for an unknown callback or a Trainer argument changed from its default that ssmkit
// does not implement, naming the flag.
void normalize_lightning_config(nlohmann::json& config);

// Whether the normalised trainer section's callbacks include `name`.
bool has_lightning_callback(const nlohmann::json& trainer, const std::string& name);

// The seed of "seed_everything": an integer, or the default seed for null/true/false.
uint64_t lightning_seed(const nlohmann::json& config);

// ssmkit's training sections for a Lightning-form config: run (seed, the version folder under
// <default_root_dir>/lightning_logs, resume from ckpt_path), the optimizer (AdamW at `lr` with
// `weight_decay`), the one-cycle schedule over all steps, and the trainer (max_epochs, device from
// accelerator, bf16 from precision, gradient clipping, progress bar, the weight average of
// EMAWeightAveraging; no early stopping).
nlohmann::json lightning_training_config(const nlohmann::json& config, double lr,
                                         double weight_decay, const std::string& version_name);

// <default_root_dir>/lightning_logs
std::string lightning_logs_folder(const nlohmann::json& config);
// "version_<N>" with N one more than the largest version in `logs_folder` (0 when none).
std::string next_lightning_version(const std::string& logs_folder);

// The ssmkit device spec of trainer.accelerator: cpu, cuda or auto.
std::string lightning_device(const nlohmann::json& trainer);

}  // namespace ssmkit::cli
