// Shared fixtures of the training-core suites: a tiny MLP with dropout and a synthetic regression
// set (TempDir comes from test_temp_dir.h).
#pragma once

#include <torch/torch.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "ssmkit/data/tensor_batch_source.h"
#include "ssmkit/train/trainable_model.h"
#include "test_temp_dir.h"

namespace ssmkit::testing {

// Linear -> tanh -> dropout -> Linear: small, but with every kind of state a resume must restore
// (parameters, Adam moments, dropout randomness).
struct TinyMlpImpl : torch::nn::Module {
  TinyMlpImpl(int64_t in, int64_t hidden, int64_t out, double dropout = 0.1)
      : fc1(register_module("fc1", torch::nn::Linear(in, hidden))),
        drop(register_module("drop", torch::nn::Dropout(dropout))),
        fc2(register_module("fc2", torch::nn::Linear(hidden, out))) {}
  // x (B, in) -> (B, out)
  torch::Tensor forward(const torch::Tensor& x) { return fc2(drop(torch::tanh(fc1(x)))); }
  torch::nn::Linear fc1;
  torch::nn::Dropout drop;
  torch::nn::Linear fc2;
};
TORCH_MODULE(TinyMlp);

constexpr int64_t kFeatures = 4;
constexpr int64_t kHidden = 8;

struct RegressionData {
  torch::Tensor inputs;   // (N, kFeatures)
  torch::Tensor targets;  // (N, 1)
};

// y = x . w + 0.1 noise, from its own generator so the global one is left alone.
inline RegressionData regression_data(int64_t n, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  RegressionData d;
  d.inputs = torch::randn({n, kFeatures}, generator);
  const auto w = torch::randn({kFeatures, 1}, generator);
  d.targets = d.inputs.matmul(w) + 0.1 * torch::randn({n, 1}, generator);
  return d;
}

inline std::unique_ptr<data::TensorBatchSource> batches(const RegressionData& d, int64_t batch_size,
                                                        bool shuffle, uint64_t seed = 5) {
  data::TensorBatchSourceOptions o;
  o.batch_size = batch_size;
  o.shuffle = shuffle;
  o.seed = seed;
  return std::make_unique<data::TensorBatchSource>(d.inputs, d.targets, o);
}

// Every named parameter of `a` equals (bitwise) the one of `b`.
// The mean squared error as a Trainer loss function.
inline at::Tensor mse(const at::Tensor& outputs, const at::Tensor& targets) {
  return torch::mse_loss(outputs, targets);
}

inline bool same_parameters(const train::TrainableModel& a, const train::TrainableModel& b) {
  const auto pa = a.named_parameters();
  const auto pb = b.named_parameters();
  if (pa.size() != pb.size()) return false;
  for (size_t i = 0; i < pa.size(); ++i) {
    if (pa[i].key() != pb[i].key() || !torch::equal(pa[i].value(), pb[i].value())) return false;
  }
  return true;
}

}  // namespace ssmkit::testing
