// The spatio-temporal block: attention across channels and Mamba across time, gated.
#include "ssmkit/nn/spatio_temporal_block.h"

#include <torch/torch.h>

#include "ssmkit/util/checks.h"

namespace ssmkit::nn {

SpatioTemporalBlockImpl::SpatioTemporalBlockImpl(const SpatioTemporalBlockOptions& options)
    : options_(options) {
  options_.mamba.validate();
  const int64_t d_model = options_.mamba.d_model;
  TORCH_CHECK(options_.n_heads >= 1 && d_model % options_.n_heads == 0,
              "SpatioTemporalBlock: n_heads is ", options_.n_heads,
              ", expected a divisor of d_model = ", d_model);
  TORCH_CHECK(options_.dropout >= 0 && options_.dropout < 1, "SpatioTemporalBlock: dropout is ",
              options_.dropout, ", expected in [0, 1)");
  TORCH_CHECK(options_.attention_dropout >= 0 && options_.attention_dropout < 1,
              "SpatioTemporalBlock: attention_dropout is ", options_.attention_dropout,
              ", expected in [0, 1)");
  norm_ = register_module("norm", RMSNorm(d_model, options_.norm_eps));
  attention_ = register_module(
      "attention",
      torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(d_model, options_.n_heads)
                                        .dropout(options_.attention_dropout)));
  temporal_ = register_module("temporal", Mamba(options_.mamba));
  gate_ = register_module("gate", torch::nn::Linear(2 * d_model, d_model));
  dropout_ = register_module("dropout", torch::nn::Dropout(options_.dropout));
}

SpatioTemporalBlockImpl::Parts SpatioTemporalBlockImpl::forward_parts(const at::Tensor& x) {
  const int64_t d_model = options_.mamba.d_model;
  check_shape(x, "SpatioTemporalBlock", "x", "(B, C, P, D)", {-1, -1, -1, d_model});
  const int64_t batch = x.size(0), channels = x.size(1), patches = x.size(2);
  const at::Tensor h = norm_(x);  // (B, C, P, D)

  Parts parts;
  // Spatial: the channels are the sequence (LibTorch attention is sequence-first), every
  // (b, p) an independent batch entry.
  const at::Tensor tokens =
      h.permute({1, 0, 2, 3}).reshape({channels, batch * patches, d_model});  // (C, B*P, D)
  const at::Tensor no_mask;
  const at::Tensor attended = std::get<0>(
      attention_->forward(tokens, tokens, tokens, no_mask, /*need_weights=*/false));  // (C, B*P, D)
  parts.spatial = attended.view({channels, batch, patches, d_model}).permute({1, 0, 2, 3});
  // Temporal: channels folded into the batch, one Mamba call along the patches.
  parts.temporal = temporal_(h.reshape({batch * channels, patches, d_model}))
                       .view({batch, channels, patches, d_model});  // (B, C, P, D)
  parts.gate = torch::sigmoid(gate_(torch::cat({parts.spatial, parts.temporal}, -1)));
  const at::Tensor fused = parts.gate * parts.spatial + (1 - parts.gate) * parts.temporal;
  parts.output = x + dropout_(fused);  // (B, C, P, D)
  return parts;
}

at::Tensor SpatioTemporalBlockImpl::forward(const at::Tensor& x) {
  return forward_parts(x).output;
}

}  // namespace ssmkit::nn
