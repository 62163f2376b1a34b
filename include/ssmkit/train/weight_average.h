// An exponential moving average of a model's parameters ("EMA weights"), updated after every
// optimizer step and swapped into the model for validation, the best checkpoint and the test.
// Averaging the last few hundred steps smooths the step-to-step noise of the weights, which on
// small data sets (ETTh1: 132 steps an epoch) makes the validation score, and so the choice of the
// best epoch, less of a lottery.
//
// The decay of update n (counting from 0) is min(decay, (1 + n) / (10 + n)): early averages
// follow the weights closely instead of remembering the random initialisation (the same warm-up
// as TensorFlow's ExponentialMovingAverage with num_updates). Parameters only: buffers (running
// statistics) are the model's own.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ssmkit::train {

class WeightAverage {
 public:
  // `parameters` are the model's own tensors (not copies): the average follows them in place,
  // also when a checkpoint load or a repack gives them new storage. `decay` in (0, 1).
  WeightAverage(std::vector<std::pair<std::string, at::Tensor>> parameters, double decay);

  // average <- d * average + (1 - d) * parameter, with d the decay of this update.
  void update();

  // Exchanges the model's parameters with the averages, in place (so CUDA graphs that read the
  // parameters stay valid). Calling it twice restores the original state.
  void swap();
  bool swapped() const { return swapped_; }

  double decay() const { return decay_; }
  int64_t updates() const { return updates_; }
  // The decay that update number `update` (from 0) uses.
  double decay_of_update(int64_t update) const;

  // The averages by parameter name (copies, whether or not they are swapped in), and their
  // restoration from such a list with the update count; names and shapes must match.
  std::vector<std::pair<std::string, at::Tensor>> averages() const;
  void load(const std::vector<std::pair<std::string, at::Tensor>>& averages, int64_t updates);
  // Restarts the averages from the current parameters (a run resumed without saved averages).
  void reset_to_parameters();

 private:
  std::vector<std::string> names_;
  std::vector<at::Tensor> parameters_;  // the model's tensors, any shape
  std::vector<at::Tensor> averages_;    // same shapes, dtypes and devices
  double decay_;
  int64_t updates_ = 0;
  bool swapped_ = false;
};

// Swaps the averages into the model for the lifetime of the scope (nothing when `average` is
// null or already swapped in).
class AveragedWeightsScope {
 public:
  explicit AveragedWeightsScope(WeightAverage* average);
  ~AveragedWeightsScope();
  AveragedWeightsScope(const AveragedWeightsScope&) = delete;
  AveragedWeightsScope& operator=(const AveragedWeightsScope&) = delete;

 private:
  WeightAverage* average_;
};

}  // namespace ssmkit::train
