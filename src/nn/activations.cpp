// GELU with a contiguous gradient for its backward.
#include "ssmkit/nn/activations.h"

#include <torch/torch.h>

namespace ssmkit::nn {

at::Tensor gelu(const at::Tensor& x) {
  at::Tensor y = torch::gelu(x);
  // A hook on y rewrites the gradient of y before GeluBackward consumes it.
  if (y.requires_grad()) y.register_hook([](const at::Tensor& grad) { return grad.contiguous(); });
  return y;
}

}  // namespace ssmkit::nn
