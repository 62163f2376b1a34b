// Reversible instance normalisation.
#include "ssmkit/nn/revin.h"

#include <torch/torch.h>

#include "ssmkit/util/checks.h"

namespace ssmkit::nn {

RevINImpl::RevINImpl(const RevINOptions& options) : options_(options) {
  TORCH_CHECK(options_.num_channels >= 1, "RevIN: num_channels is ", options_.num_channels,
              ", expected >= 1");
  TORCH_CHECK(options_.eps > 0, "RevIN: eps is ", options_.eps, ", expected > 0");
  if (options_.affine) {
    weight_ = register_parameter("weight", torch::ones({options_.num_channels}));
    bias_ = register_parameter("bias", torch::zeros({options_.num_channels}));
  }
}

RevINImpl::Normalized RevINImpl::normalize(const at::Tensor& x) {
  constexpr const char* kFn = "RevIN::normalize";
  check_shape(x, kFn, "x", "(B, L, C)", {-1, -1, options_.num_channels});
  check_dtype(x, kFn, "x", {at::kFloat, at::kDouble, at::kBFloat16, at::kHalf});
  TORCH_CHECK(x.size(1) >= 1, kFn, ": 'x' has shape ", shape_string(x.sizes()),
              ", expected at least one time step");

  Normalized out;
  const at::Tensor xd = x.detach();
  out.stats.center = options_.subtract_last ? xd.narrow(1, x.size(1) - 1, 1)
                                            : xd.mean(1, /*keepdim=*/true);  // (B, 1, C)
  out.stats.scale =
      torch::sqrt(xd.var(1, /*unbiased=*/false, /*keepdim=*/true) + options_.eps);  // (B, 1, C)
  out.values = (x - out.stats.center) / out.stats.scale;
  if (options_.affine) out.values = out.values * weight_ + bias_;
  return out;
}

at::Tensor RevINImpl::denormalize(const at::Tensor& y, const RevINStats& stats) {
  constexpr const char* kFn = "RevIN::denormalize";
  check_rank(y, kFn, "y", "(B, H, C)", 3);
  check_shape(stats.center, kFn, "stats.center", "(B, 1, C)",
              {y.size(0), 1, options_.num_channels});
  check_shape(stats.scale, kFn, "stats.scale", "(B, 1, C)", {y.size(0), 1, options_.num_channels});
  check_shape(y, kFn, "y", "(B, H, C)", {-1, -1, options_.num_channels});
  at::Tensor out = y;
  if (options_.affine) {
    // eps^2 keeps the division finite if a weight is driven to zero (as in RevIN).
    out = (out - bias_) / (weight_ + options_.eps * options_.eps);
  }
  return out * stats.scale + stats.center;
}

}  // namespace ssmkit::nn
