// The pre-norm residual Mamba-2 layer.
#include "ssmkit/nn/mamba2_layer.h"

#include "ssmkit/io/error.h"
#include "ssmkit/nn/layer_norm.h"
#include "ssmkit/ops/dropout.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::nn {

Mamba2LayerImpl::Mamba2LayerImpl(const Mamba2Options& options, double layer_norm_eps,
                                 double dropout)
    : dropout_(dropout) {
  if (!(dropout >= 0.0 && dropout < 1.0)) {
    throw InputError("Mamba2Layer: dropout " + std::to_string(dropout) + ", expected [0, 1)");
  }
  norm = register_module(
      "norm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.d_model}).eps(layer_norm_eps)));
  mixer = register_module("mixer", Mamba2(options));
}

at::Tensor Mamba2LayerImpl::forward(const at::Tensor& x) {
  at::Tensor mixed = mixer(layer_norm(norm, x));  // (B, L, d_model)
  if (dropout_ > 0.0) mixed = ops::dropout(mixed, dropout_, is_training());
  at::Tensor y = x + mixed;
  trace_shapes("Mamba2Layer", x, y);
  return y;
}

}  // namespace ssmkit::nn
