// Global-norm gradient clipping.
#include "ssmkit/train/gradient_clipping.h"

#include <torch/torch.h>

#include <cmath>

namespace ssmkit::train {
namespace {

// Added to the norm before dividing, as PyTorch does, so a zero norm never divides by zero.
constexpr double kClipEpsilon = 1e-6;

}  // namespace

at::Tensor gradient_norm(const std::vector<at::Tensor>& parameters) {
  std::vector<at::Tensor> norms;
  for (const auto& p : parameters) {
    const auto& g = p.grad();
    if (g.defined()) norms.push_back(g.detach().norm(2).to(torch::kFloat64));
  }
  if (norms.empty()) {
    const auto device = parameters.empty() ? torch::Device(torch::kCPU) : parameters[0].device();
    return torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
  }
  return torch::stack(norms).norm(2);
}

void scale_gradients(const std::vector<at::Tensor>& parameters, double factor) {
  torch::NoGradGuard no_grad;
  for (const auto& p : parameters) {
    auto g = p.grad();
    if (g.defined()) g.mul_(factor);
  }
}

double clip_factor(double norm, double max_norm) {
  return max_norm > 0 && std::isfinite(norm) && norm > max_norm ? max_norm / (norm + kClipEpsilon)
                                                                : 1.0;
}

double clip_gradients(const std::vector<at::Tensor>& parameters, double max_norm) {
  const double norm = gradient_norm(parameters).item<double>();
  const double factor = clip_factor(norm, max_norm);
  if (factor != 1.0) scale_gradients(parameters, factor);
  return norm;
}

}  // namespace ssmkit::train
