// Dropout: each element zeroed with probability p and the rest scaled by 1 / (1 - p), in training
// only. On the CPU the mask comes from ssmkit's counter-based kernel (kernels/cpu/
// dropout_mask_kernel.h), seeded from LibTorch's default generator so that torch::manual_seed and
// checkpointed generator states decide it; elsewhere it is LibTorch's dropout.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/ArrayRef.h>

namespace ssmkit::ops {

at::Tensor dropout(const at::Tensor& x, double p, bool training);  // (...) -> (...)

// The keep decisions of a CPU dropout of probability p over a tensor of `sizes` (uint8: 1 keeps,
// 0 drops), drawn from the same generator and kernel as dropout(), for kernels that apply the
// mask themselves (the CPU attention).
at::Tensor dropout_keep_mask(at::IntArrayRef sizes, double p);  // -> (sizes), uint8

// Dropout of whole channels: one draw per (example, channel), shared by every step of the
// sequence (S4's DropoutNd with tie=True, PyTorch's Dropout1d in channels-last layout), so a
// dropped channel is silent for the whole sequence rather than at scattered steps.
at::Tensor channel_dropout(const at::Tensor& x,       // (B, L, H)
                           double p, bool training);  // -> (B, L, H)

// channel_dropout(x, p, training) = x * channel_dropout_scale(x, p, training): the mask of one
// step, already divided by 1 - p, for kernels that apply it themselves
// (ops/channel_scaled_activations.h). Undefined when nothing is dropped (evaluation, p = 0).
at::Tensor channel_dropout_scale(const at::Tensor& x,       // (B, L, H)
                                 double p, bool training);  // -> (B, 1, H)

}  // namespace ssmkit::ops
