// Channel mixup augmentation.
#include "ssmkit/nn/channel_mixup.h"

#include <torch/torch.h>

#include "ssmkit/util/checks.h"

namespace ssmkit::nn {

MixedPair channel_mixup(const at::Tensor& inputs, const at::Tensor& targets, double sigma,
                        at::Generator generator) {
  constexpr const char* kFn = "channel_mixup";
  check_rank(inputs, kFn, "inputs", "(B, L, C)", 3);
  check_shape(targets, kFn, "targets", "(B, H, C)", {inputs.size(0), -1, inputs.size(2)});
  check_same_device(targets, inputs, kFn, "targets", "inputs");
  TORCH_CHECK(sigma >= 0, kFn, ": sigma is ", sigma, ", expected >= 0");
  if (sigma == 0) return {inputs, targets};

  const int64_t batch = inputs.size(0);
  const int64_t channels = inputs.size(2);
  // Half-precision normal sampling is not available everywhere: draw in float, then cast.
  const at::ScalarType draw_dtype = inputs.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  c10::optional<at::Generator> gen;
  at::Device draw_device = inputs.device();
  if (generator.defined()) {
    gen = generator;
    draw_device = generator.device();
  }
  const at::Tensor perm =
      torch::randperm(channels, gen, torch::dtype(torch::kLong).device(draw_device))
          .to(inputs.device());  // (C)
  const at::Tensor lambda = at::normal(0.0, sigma, {batch, 1, channels}, gen,
                                       torch::dtype(draw_dtype).device(draw_device))
                                .to(inputs.device(), inputs.scalar_type());  // (B, 1, C)
  return {inputs + inputs.index_select(2, perm) * lambda,
          targets + targets.index_select(2, perm) * lambda};
}

ChannelMixupImpl::ChannelMixupImpl(double sigma, at::Generator generator)
    : sigma_(sigma), generator_(std::move(generator)) {
  TORCH_CHECK(sigma_ >= 0, "ChannelMixup: sigma is ", sigma_, ", expected >= 0");
}

MixedPair ChannelMixupImpl::forward(const at::Tensor& inputs, const at::Tensor& targets) {
  if (!is_training()) {
    check_rank(inputs, "ChannelMixup", "inputs", "(B, L, C)", 3);
    check_shape(targets, "ChannelMixup", "targets", "(B, H, C)",
                {inputs.size(0), -1, inputs.size(2)});
    return {inputs, targets};
  }
  return channel_mixup(inputs, targets, sigma_, generator_);
}

}  // namespace ssmkit::nn
