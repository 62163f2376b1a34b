// Training checkpoints: model parameters and buffers, optimizer state, the random generators'
// states, the trainer's own state (epoch, step, schedule, early stopping, history) and the full
// resolved configuration, so that a program can rebuild the model from the checkpoint alone and a
// killed run can continue to the same weights. Files are LibTorch archives written atomically.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ssmkit/train/trainable_model.h"

namespace ssmkit::train {

struct CheckpointState {
  int64_t epoch = 0;        // completed epochs
  int64_t global_step = 0;  // completed optimizer steps
  // The full resolved configuration of the run.
  nlohmann::json config = nlohmann::json::object();
  // The trainer's state: scheduler, early stopping, history (opaque to this file).
  nlohmann::json trainer = nlohmann::json::object();
  // Further named tensors of the trainer (the weight average), in order; loaded to the device.
  std::vector<std::pair<std::string, at::Tensor>> tensors;
};

// Writes a checkpoint to `path` atomically: into a temporary file in the same folder, fsync,
// rename. A program killed meanwhile leaves the previous file intact. `optimizer` may be null
// (weights-only export). The CPU generator's state, and each CUDA generator's when CUDA is
// available, are included.
void save_checkpoint(const std::string& path, const TrainableModel& model,
                     const torch::optim::Optimizer* optimizer, const CheckpointState& state);

// Loads a checkpoint into `model` (parameters must match in names and shapes) and, when given,
// `optimizer`; tensors are placed on `device`. Restores the generators' states when
// `restore_rng`. Throws InputError naming the file when it is missing, truncated, corrupt, not an
// ssmkit checkpoint, or written for a different model.
CheckpointState load_checkpoint(const std::string& path, TrainableModel& model,
                                torch::optim::Optimizer* optimizer, const c10::Device& device,
                                bool restore_rng);

// Copies the parameters and buffers of the checkpoint model's part `submodule` (e.g. "encoder")
// into `target`, which must have the same names and shapes: a fine-tuned model taking the encoder
// of a pretraining run. Parameters come from the run's weight average when the checkpoint holds one
// (the weights that run validated). InputError naming the file and the first tensor that is
// missing or of another shape; nothing is copied then.
void load_submodule_weights(const std::string& path, const std::string& submodule,
                            torch::nn::Module& target);

// Copies the weight average that `state` (read from `path`) holds over the parameters of `model`
// of the same names: a run that averaged its weights validated, and is tested, with the average.
// Returns false, changing nothing, when the checkpoint holds no average. InputError naming `path`
// when an average has no parameter of its name and shape in `model`; nothing is copied then.
bool load_weight_average(const CheckpointState& state, const std::string& path,
                         torch::nn::Module& model);

// The epoch, step, configuration and trainer state alone, e.g. to rebuild the model first.
CheckpointState read_checkpoint_state(const std::string& path);

}  // namespace ssmkit::train
