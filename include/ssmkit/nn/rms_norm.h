// RMSNorm (Zhang & Sennrich 2019), the pre-norm of Mamba's residual blocks: x / rms(x) * weight
// over the last dimension, without mean subtraction or bias.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace ssmkit::nn {

// Mamba's default; keeps the division finite for an all-zero row.
constexpr double kDefaultRmsNormEps = 1e-5;

class RMSNormImpl : public torch::nn::Module {
 public:
  explicit RMSNormImpl(int64_t dim, double eps = kDefaultRmsNormEps);

  // Normalises over the last dimension; half-precision inputs are normalised in float32.
  at::Tensor forward(const at::Tensor& x);  // (..., dim) -> (..., dim)

  int64_t dim() const { return dim_; }
  double eps() const { return eps_; }

  at::Tensor weight;  // (dim) learnable scale, ones at init

 private:
  int64_t dim_;
  double eps_;
};
TORCH_MODULE(RMSNorm);

}  // namespace ssmkit::nn
