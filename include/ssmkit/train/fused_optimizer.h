// The update of a LibTorch Adam, AdamW or SGD optimizer done on flat buffers: the parameters,
// gradients and optimizer state of each parameter group are contiguous ranges (FlatParameters),
// so a step is a handful of kernels per group instead of a handful per parameter. The arithmetic
// is the optimizer's own, operation for operation, and its state stays in the optimizer (as views
// of the flat buffers): checkpoints, learning-rate schedules and a later plain optimizer.step()
// work unchanged. Every parameter is updated every step (its gradient is zero when unused),
// unlike the plain optimizer, which skips parameters without a gradient.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/optim/optimizer.h>
#include <torch/optim/sgd.h>

#include <memory>
#include <string>
#include <vector>

#include "ssmkit/train/flat_parameters.h"

namespace ssmkit::train {

class FusedOptimizer {
 public:
  // Why `optimizer` cannot be fused (empty string: it can): Adam, AdamW and SGD are supported,
  // with parameters that FlatParameters can pack and a state that is the same step for every
  // parameter of a group.
  static std::string unsupported_reason(torch::optim::Optimizer& optimizer);

  // Packs the parameters of every group, in group order, and moves the existing optimizer state
  // (e.g. from a resumed checkpoint) into flat buffers.
  explicit FusedOptimizer(torch::optim::Optimizer& optimizer);

  FlatParameters& parameters() { return flat_; }
  // False when the flat buffers no longer alias the model or the optimizer state (see
  // FlatParameters::intact); build a new FusedOptimizer then.
  bool intact() const;

  void zero_grad() { flat_.zero_gradients(); }
  // Before backward: the step's gradients replace the last ones instead of adding to zeros.
  void release_gradients() { flat_.release_gradients(); }
  // After backward: every gradient in the flat buffer again (FlatParameters::gather_gradients).
  void gather_gradients() { flat_.gather_gradients(); }
  // Global L2 norm of the gradients, float64 scalar () on their device, without synchronising.
  at::Tensor gradient_norm() const { return flat_.gradient_norm(); }
  // Every parameter's gradient in one buffer (P), e.g. for one all-reduce across ranks.
  at::Tensor& gradients() { return flat_.gradients(); }
  void scale_gradients(double factor);
  // One update of every parameter from its gradient, with each group's current options.
  void step();

 private:
  enum class Kind { kAdam, kAdamW, kSgd };
  struct Group {
    size_t torch_group = 0;      // index in optimizer.param_groups()
    size_t first = 0, last = 0;  // parameter indices in flat_
    int64_t steps = 0;  // Adam/AdamW: updates so far; SGD: 0 until a momentum buffer exists
  };
  static std::vector<at::Tensor> checked_parameters(torch::optim::Optimizer& optimizer);
  template <typename State, typename Options>
  void attach_adam_state();
  void attach_sgd_state();
  template <typename State>
  void adam_step(Group& group, double lr, double beta1, double beta2, double eps,
                 double weight_decay, bool decoupled, bool amsgrad);
  void sgd_step(Group& group, const torch::optim::SGDOptions& options);

  torch::optim::Optimizer& optimizer_;
  Kind kind_;
  FlatParameters flat_;
  std::vector<Group> groups_;
  at::Tensor exp_avg_;         // (P) Adam first moments, or SGD momentum buffers
  at::Tensor exp_avg_sq_;      // (P) Adam second moments
  at::Tensor max_exp_avg_sq_;  // (P) AMSGrad maxima (defined only with amsgrad)
};

}  // namespace ssmkit::train
