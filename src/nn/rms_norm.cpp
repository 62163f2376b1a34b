// RMSNorm over the last dimension.
#include "ssmkit/nn/rms_norm.h"

#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/util/checks.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::nn {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : dim_(dim), eps_(eps) {
  if (dim <= 0) throw InputError("RMSNorm: 'dim' must be > 0, got " + std::to_string(dim));
  if (!(eps > 0.0)) throw InputError("RMSNorm: 'eps' must be > 0, got " + std::to_string(eps));
  weight = register_parameter("weight", torch::ones({dim}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  constexpr const char* fn = "RMSNorm";
  check_defined(x, fn, "x");
  TORCH_CHECK(x.dim() >= 1 && x.size(-1) == dim_, fn, ": 'x' has shape ", shape_string(x.sizes()),
              ", expected (..., dim) with dim = ", dim_);
  check_dtype(x, fn, "x", {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16});
  const bool low_precision = x.scalar_type() == at::kHalf || x.scalar_type() == at::kBFloat16;
  at::Tensor xc = low_precision ? x.to(at::kFloat) : x;
  at::Tensor y = xc * torch::rsqrt(xc.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  y = (y * weight.to(y.scalar_type())).to(x.scalar_type());
  trace_shapes("RMSNorm", x, y);
  return y;
}

}  // namespace ssmkit::nn
