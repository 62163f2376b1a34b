// Activations that need care on some LibTorch builds. Use these instead of the torch:: ones.
#pragma once

#include <ATen/core/Tensor.h>

namespace ssmkit::nn {

// Exact (erf) GELU. LibTorch 1.13's GELU backward misreads a non-contiguous incoming gradient
// (garbage or NaN; e.g. when a transpose follows the GELU), so the gradient is made contiguous
// before it reaches GELU's backward. Same values and gradients as torch::gelu otherwise.
at::Tensor gelu(const at::Tensor& x);  // (...) -> (...)

}  // namespace ssmkit::nn
