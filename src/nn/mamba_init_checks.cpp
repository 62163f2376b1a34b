// Initialisers and input/cache checks shared by the Mamba blocks.
#include "ssmkit/nn/mamba_init_checks.h"

#include <torch/torch.h>

#include <cmath>

#include "ssmkit/util/checks.h"

namespace ssmkit::nn {

DepthwiseConvInit init_depthwise_conv(int64_t channels, int64_t width, bool with_bias) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(width));
  DepthwiseConvInit init;
  init.weight = torch::empty({channels, width}).uniform_(-bound, bound);
  if (with_bias) init.bias = torch::empty({channels}).uniform_(-bound, bound);
  return init;
}

at::Tensor init_dt_bias(int64_t size, double dt_min, double dt_max, double dt_init_floor) {
  const double log_min = std::log(dt_min);
  const double log_max = std::log(dt_max);
  const at::Tensor dt = torch::exp(torch::rand({size}) * (log_max - log_min) + log_min)
                            .clamp_min(dt_init_floor);  // (size)
  // softplus^-1(dt) = dt + log(1 - exp(-dt)), in a form that stays accurate for small dt.
  return dt + torch::log(-torch::expm1(-dt));
}

void check_block_input(const at::Tensor& x, int64_t rank, int64_t d_model, const at::Tensor& param,
                       const char* fn) {
  if (rank == 3) {
    check_shape(x, fn, "x", "(B, L, d_model)", {-1, -1, d_model});
    TORCH_CHECK(x.size(1) >= 1, fn, ": 'x' has shape ", shape_string(x.sizes()),
                ", expected L >= 1");
  } else {
    check_shape(x, fn, "x", "(B, d_model)", {-1, d_model});
  }
  check_same_device(x, param, fn, "x", "the block's parameters");
  TORCH_CHECK(x.scalar_type() == param.scalar_type(), fn, ": 'x' has dtype ",
              c10::toString(x.scalar_type()), ", expected the parameters' dtype (",
              c10::toString(param.scalar_type()), ")");
}

void check_cache_placement(const at::Tensor& conv_state, const at::Tensor& ssm_state,
                           const at::Tensor& param, const char* fn) {
  check_same_device(conv_state, param, fn, "cache.conv_state", "the block's parameters");
  check_same_device(ssm_state, param, fn, "cache.ssm_state", "the block's parameters");
  check_dtype(ssm_state, fn, "cache.ssm_state", {at::kFloat, at::kDouble});
}

}  // namespace ssmkit::nn
