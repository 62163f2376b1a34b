// The hybrid SSM + attention block of Vision Mamba.
#include "ssmkit/nn/vision_mamba_block.h"

#include <torch/torch.h>

#include <cmath>
#include <string>

#include "ssmkit/io/error.h"
#include "ssmkit/nn/layer_norm.h"
#include "ssmkit/ops/dropout.h"
#include "ssmkit/util/checks.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::nn {
namespace {

constexpr const char* kBlock = "VisionMambaBlock";

void require_rate(const char* name, double value) {
  if (!(value >= 0.0 && value < 1.0)) {
    throw InputError(std::string(kBlock) + ": '" + name + "' must be in [0, 1), got " +
                     std::to_string(value));
  }
}

}  // namespace

at::Tensor drop_path(const at::Tensor& branch, double p, bool training) {
  if (!training || p == 0.0) return branch;
  std::vector<int64_t> mask_shape(static_cast<size_t>(branch.dim()), 1);
  mask_shape[0] = branch.size(0);
  const at::Tensor keep =
      torch::empty(mask_shape, branch.options()).bernoulli_(1.0 - p).div_(1.0 - p);
  return branch * keep;
}

VisionMambaBlockImpl::VisionMambaBlockImpl(const VisionMambaBlockOptions& options)
    : options_(options) {
  const auto& o = options_;
  o.mamba.validate();
  const int64_t width = o.mamba.d_model;
  if (o.num_heads < 1 || width % o.num_heads != 0) {
    throw InputError(std::string(kBlock) + ": 'num_heads' must divide the width " +
                     std::to_string(width) + ", got " + std::to_string(o.num_heads));
  }
  if (!(o.mlp_ratio > 0.0)) {
    throw InputError(std::string(kBlock) + ": 'mlp_ratio' must be positive, got " +
                     std::to_string(o.mlp_ratio));
  }
  require_rate("dropout", o.dropout);
  require_rate("attention_dropout", o.attention_dropout);
  require_rate("drop_path", o.drop_path);
  const auto norm = torch::nn::LayerNormOptions({width}).eps(o.layer_norm_eps);
  mixer_norm = register_module("mixer_norm", torch::nn::LayerNorm(norm));
  forward_mamba = register_module("forward_mamba", Mamba(o.mamba));
  if (o.bidirectional) backward_mamba = register_module("backward_mamba", Mamba(o.mamba));
  attention = register_module("attention", SelfAttention(SelfAttentionOptions{
                                               width, o.num_heads, true, o.attention_dropout}));
  gate = register_parameter("gate", torch::zeros({}));
  mlp_norm = register_module("mlp_norm", torch::nn::LayerNorm(norm));
  const int64_t hidden = std::max<int64_t>(1, std::llround(o.mlp_ratio * width));
  mlp_in = register_module("mlp_in", torch::nn::Linear(width, hidden));
  mlp_out = register_module("mlp_out", torch::nn::Linear(hidden, width));
}

at::Tensor VisionMambaBlockImpl::ssm_branch(const at::Tensor& h) {
  const at::Tensor forward_scan = forward_mamba(h);
  if (!backward_mamba) return forward_scan;
  const at::Tensor backward_scan = backward_mamba(h.flip({1})).flip({1});
  return (forward_scan + backward_scan) * 0.5;
}

at::Tensor VisionMambaBlockImpl::mix_weight() const {
  return torch::sigmoid(gate);
}

at::Tensor VisionMambaBlockImpl::forward(const at::Tensor& x) {
  check_rank(x, kBlock, "x", "(B, L, D)", 3);
  const auto& o = options_;
  const bool training = is_training();
  const at::Tensor h = layer_norm(mixer_norm, x);
  const at::Tensor share = mix_weight();
  // Spelled out rather than lerp: under autocast the two branches may differ in dtype.
  const at::Tensor mixed = ssm_branch(h) * share + attention(h) * (1 - share);
  at::Tensor y = x + drop_path(ops::dropout(mixed, o.dropout, training), o.drop_path, training);
  const at::Tensor inner =
      ops::dropout(torch::gelu(mlp_in(layer_norm(mlp_norm, y))), o.dropout, training);
  y = y + drop_path(ops::dropout(mlp_out(inner), o.dropout, training), o.drop_path, training);
  trace_shapes(kBlock, x, y);
  return y;
}

}  // namespace ssmkit::nn
