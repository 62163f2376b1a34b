// Dropout: each element zeroed with probability p and the rest scaled by 1 / (1 - p), in training
// only. On the CPU the mask comes from ssmkit's counter-based kernel (kernels/cpu/
// dropout_mask_kernel.h), seeded from LibTorch's default generator so that torch::manual_seed and
// checkpointed generator states decide it; elsewhere it is LibTorch's dropout.
#pragma once

#include <ATen/core/Tensor.h>

namespace ssmkit::ops {

at::Tensor dropout(const at::Tensor& x, double p, bool training);  // (...) -> (...)

}  // namespace ssmkit::ops
