// Multi-head self-attention.
#include "ssmkit/nn/self_attention.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <cstdlib>

#include "ssmkit/io/error.h"
#include "ssmkit/ops/dropout.h"
#include "ssmkit/util/checks.h"
#include "ssmkit/util/trace.h"

// LibTorch 2.0 added the fused attention entry point.
#define SSMKIT_HAS_FUSED_ATTENTION (TORCH_VERSION_MAJOR >= 2)

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
  const int64_t batch = x.size(0), length = x.size(1), heads = options_.num_heads;
  const int64_t head_dim = options_.d_model / heads;
  // (B, L, 3 D) -> 3 x (B, H, L, d_head)
  const auto parts =
      qkv(x).view({batch, length, 3, heads, head_dim}).permute({2, 0, 3, 1, 4}).unbind(0);
  const double dropout = is_training() ? options_.dropout : 0.0;
  at::Tensor y;
#if SSMKIT_HAS_FUSED_ATTENTION
  // Experiment switch: the unfused form on LibTorch 2 too, to time it against the fused one.
  static const bool math_attention = std::getenv("SSMKIT_ATTENTION_MATH") != nullptr;
  if (!math_attention) {
    y = at::scaled_dot_product_attention(parts[0], parts[1], parts[2], {}, dropout);
  }
#else
  constexpr bool math_attention = true;
#endif
  if (math_attention) {
    at::Tensor weights = torch::softmax(torch::matmul(parts[0], parts[1].transpose(-2, -1)) /
                                            std::sqrt(static_cast<double>(head_dim)),
                                        -1);  // (B, H, L, L)
    weights = ops::dropout(weights, dropout, /*training=*/true);
    y = torch::matmul(weights, parts[2]);  // (B, H, L, d_head)
  }
  y = out(y.transpose(1, 2).reshape({batch, length, options_.d_model}));
  trace_shapes(fn, x, y);
  return y;
}

}  // namespace ssmkit::nn
