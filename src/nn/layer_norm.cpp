// A LayerNorm module's forward through ops::layer_norm.
#include "ssmkit/nn/layer_norm.h"

#include <ATen/ATen.h>

#include "ssmkit/ops/layer_norm.h"

namespace ssmkit::nn {

at::Tensor layer_norm(const torch::nn::LayerNorm& norm, const at::Tensor& x) {
  const torch::nn::LayerNormOptions& o = norm->options;
  // ops::layer_norm normalises over the last dimension with a weight and a bias.
  if (!o.elementwise_affine() || o.normalized_shape().size() != 1)
    return at::layer_norm(x, o.normalized_shape(), norm->weight, norm->bias, o.eps());
  return ops::layer_norm(x, norm->weight, norm->bias, o.eps());
}

}  // namespace ssmkit::nn
