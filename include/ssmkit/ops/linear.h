// A linear layer, differentiable, whose bias gradient on CUDA is a matrix-vector product of the
// output gradient's rows with ones. LibTorch's autograd sums those rows with its column
// reduction, which took 69 µs for S4Model's GLU projection (50,176 rows of 256) on an H100;
// cuBLAS's matrix-vector product reads them at close to full memory bandwidth.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/linear.h>

namespace ssmkit::ops {

// y = x W^T + b. LibTorch's linear (and its autograd) elsewhere and without a bias (an undefined
// `bias`).
at::Tensor linear(const at::Tensor& x,       // (..., in)
                  const at::Tensor& weight,  // (out, in)
                  const at::Tensor& bias);   // (out) or undefined -> (..., out)

// The same through a LibTorch Linear module's parameters.
at::Tensor linear(const at::Tensor& x,               // (..., in)
                  const torch::nn::Linear& module);  // -> (..., out)

}  // namespace ssmkit::ops
