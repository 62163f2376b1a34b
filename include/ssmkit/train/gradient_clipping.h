// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_: the norm is always computed
// (it is logged every step), and gradients are scaled only when it exceeds max_norm.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace ssmkit::train {

// The global L2 norm of the gradients of `parameters` as a float64 scalar () on their device,
// without synchronising; zero when no parameter has a gradient.
at::Tensor gradient_norm(const std::vector<at::Tensor>& parameters);

// Multiplies every gradient by `factor`.
void scale_gradients(const std::vector<at::Tensor>& parameters, double factor);

// The factor clip_gradients scales by when `norm` exceeds `max_norm` (> 0), else 1.
double clip_factor(double norm, double max_norm);

// Returns the global L2 norm of the gradients of `parameters` (those without a gradient are
// skipped) before clipping. When max_norm > 0 and the norm exceeds it, every gradient is scaled by
// max_norm / (norm + 1e-6). A non-finite norm is returned as is and nothing is scaled.
double clip_gradients(const std::vector<at::Tensor>& parameters, double max_norm);

}  // namespace ssmkit::train
