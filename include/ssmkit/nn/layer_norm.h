// A torch::nn::LayerNorm module run through ops::layer_norm (its own CUDA kernels, LibTorch's
// elsewhere): the module keeps the parameters, their names in checkpoints, and the options.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/normalization.h>

namespace ssmkit::nn {

at::Tensor layer_norm(const torch::nn::LayerNorm& norm,  // over the last dimension, H
                      const at::Tensor& x);              // (..., H) -> (..., H)

}  // namespace ssmkit::nn
