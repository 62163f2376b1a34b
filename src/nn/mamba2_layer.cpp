// The pre-norm residual Mamba-2 layer.
#include "ssmkit/nn/mamba2_layer.h"

#include "ssmkit/nn/layer_norm.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::nn {

Mamba2LayerImpl::Mamba2LayerImpl(const Mamba2Options& options, double layer_norm_eps) {
  norm = register_module(
      "norm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.d_model}).eps(layer_norm_eps)));
  mixer = register_module("mixer", Mamba2(options));
}

at::Tensor Mamba2LayerImpl::forward(const at::Tensor& x) {
  at::Tensor y = x + mixer(layer_norm(norm, x));
  trace_shapes("Mamba2Layer", x, y);
  return y;
}

}  // namespace ssmkit::nn
