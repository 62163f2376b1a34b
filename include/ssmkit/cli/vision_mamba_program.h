// What train_vision_mamba, evaluate_model and demo_training share: the Vision Mamba configuration
// (sections model, training, data, logging, as configs/vision_mamba/*.json), the shipped configs
// found by name, its translation into the standard training sections (training_program.h), the
// data set and batches of a configuration, the classification loss, and the seed's output tree:
//   <log_dir>/<experiment>/              the run folder (training_log.json, config.json, plots)
//   <checkpoint_dir>/<experiment>/       best_model.pth, final_model.pth, checkpoint_epoch_<N>.pth
//   <tensorboard_dir>/<experiment>/      TensorBoard events
// with <experiment> = logging.experiment_name, by default vision_mamba_<dataset>.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "ssmkit/data/image_batch_source.h"
#include "ssmkit/data/image_classification_data.h"
#include "ssmkit/train/trainer.h"

namespace ssmkit::cli {

inline constexpr const char* kVisionMambaModel = "VisionMamba";

// {"model": VisionMambaOptions, "training": {...}, "data": {...}, "logging": {...}, "resume": ""}
// with every key at its default.
nlohmann::json vision_mamba_config_defaults();

// `name_or_path` as given to --config: a file path (it has a '/' or ends in .json/.yaml), else the
// name of a shipped config (configs/vision_mamba/<name>.json), looked up in $SSMKIT_CONFIG_DIR,
// the installed share/ssmkit/configs and the source tree. InputError listing the shipped names
// when there is none of that name.
std::string vision_mamba_config_path(const std::string& name_or_path);

// logging.experiment_name, or vision_mamba_<dataset> when empty.
std::string experiment_name(const nlohmann::json& config);

// The standard sections (run, optimizer, scheduler, trainer) of a resolved configuration, with
// the configuration itself under "vision_mamba" so that a checkpoint carries it.
nlohmann::json vision_mamba_session_config(const nlohmann::json& config);

// The data set of a configuration's "data" section (seed: training.seed).
data::ImageClassificationData load_vision_mamba_data(const nlohmann::json& config);

// Batches of a split: shuffled and augmented as the data section says for training, in order and
// unaugmented otherwise; always normalised as the data section says.
std::unique_ptr<data::ImageBatchSource> vision_mamba_batches(const nlohmann::json& config,
                                                             const data::ImageSplit& split,
                                                             bool training);

// The model section of a configuration with the data set's shape filled in (image size,
// channels, classes), so a config need not repeat them.
nlohmann::json model_config_for_data(const nlohmann::json& model_section,
                                     const data::ImageClassificationData& data);

// Cross-entropy with label smoothing, logits (B, K) against labels (B).
train::LossFn classification_loss(double label_smoothing);

// The checkpoint a seed-style path names: <checkpoint_dir>/<experiment>/best_model.pth,
// final_model.pth or checkpoint_epoch_<N>.pth are links to the run folder's best.pt, last.pt and
// epoch_<N>.pt; any other file or run folder is returned as it is.
std::string run_checkpoint_of(const std::string& path, const nlohmann::json& config);

}  // namespace ssmkit::cli
