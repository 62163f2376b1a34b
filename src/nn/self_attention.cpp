// Multi-head self-attention.
#include "ssmkit/nn/self_attention.h"

#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/ops/attention.h"
#include "ssmkit/ops/linear.h"
#include "ssmkit/util/checks.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::nn {

SelfAttentionImpl::SelfAttentionImpl(const SelfAttentionOptions& options) : options_(options) {
  const auto& o = options_;
  if (o.d_model < 1 || o.num_heads < 1 || o.d_model % o.num_heads != 0) {
    throw InputError("SelfAttention: num_heads (" + std::to_string(o.num_heads) +
                     ") must be positive and divide d_model (" + std::to_string(o.d_model) + ")");
  }
  if (!(o.dropout >= 0.0 && o.dropout < 1.0)) {
    throw InputError("SelfAttention: dropout must be in [0, 1), got " + std::to_string(o.dropout));
  }
  qkv = register_module(
      "qkv",
      torch::nn::Linear(torch::nn::LinearOptions(o.d_model, 3 * o.d_model).bias(o.qkv_bias)));
  out = register_module("out", torch::nn::Linear(o.d_model, o.d_model));
}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& x) {
  constexpr const char* fn = "SelfAttention";
  check_defined(x, fn, "x");
  TORCH_CHECK(x.dim() == 3 && x.size(2) == options_.d_model, fn, ": 'x' has shape ",
              shape_string(x.sizes()), ", expected (B, L, ", options_.d_model, ")");
  const double dropout = is_training() ? options_.dropout : 0.0;
  const at::Tensor y =
      ops::linear(ops::multi_head_attention(ops::linear(x, qkv), options_.num_heads, dropout), out);
  trace_shapes(fn, x, y);
  return y;
}

}  // namespace ssmkit::nn
