// How the Trainer runs the device work of a step: the forward and backward of a training batch,
// the optimizer update, and the forward of an evaluation batch. Three modes:
//   plain  the optimizer's own step() and zero_grad(): a few kernels per parameter;
//   fused  parameters, gradients and optimizer state in flat buffers (FusedOptimizer): a few
//          kernels per parameter group;
//   graph  fused, and on CUDA the forward + backward of a training batch and the evaluation
//          forward recorded in CUDA graphs, one per batch shape (the full batches and an epoch's
//          last, smaller one; up to four), and replayed (the first batches of each shape run
//          eagerly as warm-up; batches of further shapes run eagerly).
// "auto" is graph on CUDA and plain on the CPU (where launches are cheap and fused saves little).
// Fused and graph fall back to plain, with a log line, for optimizers or parameters they cannot
// handle.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/optim/optimizer.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ssmkit/train/distributed.h"
#include "ssmkit/train/gradient_buckets.h"
#include "ssmkit/train/trainable_model.h"

namespace ssmkit::train {

class CudaGraph;
class FusedOptimizer;

enum class StepMode { kPlain, kFused, kGraph };

// "auto" | "plain" | "fused" | "graph" for `device`; `flag` names the setting in errors.
StepMode parse_step_mode(const std::string& text, const c10::Device& device,
                         const std::string& flag);
std::string step_mode_name(StepMode mode);

// loss(outputs (B, ...), targets (B, ...)) -> scalar ()
using LossFn = std::function<at::Tensor(const at::Tensor& outputs, const at::Tensor& targets)>;

class StepRunner {
 public:
  StepRunner(StepMode mode, TrainableModel& model, torch::optim::Optimizer& optimizer, LossFn loss,
             bool mixed_precision, const c10::Device& device);
  ~StepRunner();

  StepMode mode() const { return mode_; }
  // Data-parallel training over `context`'s group (null or a context without one: none): the
  // gradients are summed over the ranks in buckets of `bucket_bytes` that start while backward
  // runs (gradient_buckets.h), or with 0 in one all-reduce after backward, then averaged, as
  // is the loss, so that the gradient norm, clipping and the update see the global batch. CUDA
  // graphs are not used then (the all-reduces start from autograd hooks): graph mode runs
  // fused steps.
  void set_distributed(DistributedContext* context, int64_t bucket_bytes = kDefaultBucketBytes);
  // The gradient buckets of data-parallel training (null otherwise): their overlap statistics.
  const GradientBuckets* gradient_buckets() const { return buckets_.get(); }
  // Data parallel: seconds spent after backward waiting for the averaged gradients and loss,
  // summed over the steps so far: the communication that backward did not hide.
  double exposed_communication_seconds() const { return exposed_communication_seconds_; }

  // Zeroes the gradients, runs forward and loss (under autocast when mixed precision is on) and
  // backward for a batch already on the device. Returns [loss, global gradient norm] as a (2)
  // float64 tensor on the device, valid until the next call.
  at::Tensor forward_backward(const at::Tensor& inputs,    // (B, ...)
                              const at::Tensor& targets);  // (B, ...) or undefined
  // Multiplies every gradient by `factor` (gradient clipping).
  void scale_gradients(double factor);
  // The optimizer update from the current gradients.
  void optimizer_step();
  // The model's forward for evaluation (call in evaluation mode under NoGradGuard, autocast
  // applied here). Returns outputs (B, ...) owned by the caller.
  at::Tensor evaluation_forward(const at::Tensor& inputs);  // (B, ...)

 private:
  at::Tensor eager_forward_backward(const at::Tensor& inputs, const at::Tensor& targets);
  at::Tensor eager_evaluation_forward(const at::Tensor& inputs);
  // Builds (or rebuilds, when loading weights replaced the parameters' storage) the flat
  // buffers; false when running plain.
  bool ensure_fused();
  void drop_graphs();

  StepMode mode_;
  TrainableModel& model_;
  torch::optim::Optimizer& optimizer_;
  LossFn loss_;
  bool mixed_precision_;
  c10::Device device_;
  std::vector<at::Tensor> parameters_;  // those that require gradients (plain mode)
  std::unique_ptr<FusedOptimizer> fused_;
  DistributedContext* distributed_ = nullptr;  // null: a single process, no collectives
  std::unique_ptr<GradientBuckets> buckets_;   // null: one all-reduce after backward
  double exposed_communication_seconds_ = 0;

  // A recorded computation with its fixed inputs and outputs.
  struct Recording {
    std::unique_ptr<CudaGraph> graph;
    int64_t warmups = 0;
    std::vector<int64_t> input_shape, target_shape;  // of the batches it serves
    at::Tensor inputs;                               // (B, ...)
    at::Tensor targets;                              // (B, ...) or undefined
    at::Tensor result;  // training: (2) [loss, norm]; evaluation: outputs (B, ...)
  };
  // Replays the recording of the batch's shape, first warming up and recording it (one recording
  // per shape, up to kMaxRecordedShapes (step_runner.cpp): the full batches and an epoch's last,
  // smaller one); returns false for a batch of a further shape or dtype (the caller runs it
  // eagerly). The result is the recording's.
  const at::Tensor* run_recorded(
      std::vector<Recording>& recordings, const at::Tensor& inputs, const at::Tensor& targets,
      const std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>& work);
  std::vector<Recording> training_;
  std::vector<Recording> evaluation_;
};

}  // namespace ssmkit::train
