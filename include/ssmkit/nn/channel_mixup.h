// Channel mixup (CMamba): a training-time augmentation that adds to every channel a random multiple
// of another channel, in the inputs and the targets alike, so the model sees new channels that are
// linear mixtures of real ones and learns channel-generic dynamics.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <utility>

namespace ssmkit::nn {

struct MixedPair {
  at::Tensor inputs;   // (B, L, C)
  at::Tensor targets;  // (B, H, C)
};

// One permutation `perm` of the channels is drawn for the batch and one
// lambda[b, c] ~ N(0, sigma^2) for every (sample, channel); then
//   inputs'[b, :, c] = inputs[b, :, c] + lambda[b, c] * inputs[b, :, perm[c]], same for targets.
// (The official CMamba training step draws one permutation per batch, not per sample.)
// sigma = 0 returns the inputs unchanged. Draws from `generator` when defined (its device), else
// from the default generator of the inputs' device.
MixedPair channel_mixup(const at::Tensor& inputs, const at::Tensor& targets, double sigma,
                        at::Generator generator = {});

// The module form: mixes in training mode, identity in eval mode.
class ChannelMixupImpl : public torch::nn::Module {
 public:
  explicit ChannelMixupImpl(double sigma, at::Generator generator = {});

  // inputs (B, L, C), targets (B, H, C) -> the mixed pair (training) or the same pair (eval).
  MixedPair forward(const at::Tensor& inputs, const at::Tensor& targets);

  double sigma() const { return sigma_; }
  // Draws from `generator` from now on (undefined: the default generator).
  void set_generator(at::Generator generator) { generator_ = std::move(generator); }

 private:
  double sigma_;
  at::Generator generator_;
};
TORCH_MODULE(ChannelMixup);

}  // namespace ssmkit::nn
