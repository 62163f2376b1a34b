// Ti-MAE's decoder.
#include "ssmkit/models/timae_decoder.h"

#include <torch/torch.h>

#include "ssmkit/nn/layer_norm.h"
#include "ssmkit/ops/linear.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::models {

TiMAEDecoderImpl::TiMAEDecoderImpl(const TiMAEOptions& options)
    : options_(options), positions_(options.max_len, options.decoder_emb_size) {
  const TiMAEOptions& o = options_;
  embedding = register_module("embedding", torch::nn::Linear(o.emb_size, o.decoder_emb_size));
  mask_token = register_parameter("mask_token", torch::zeros({o.decoder_emb_size}));
  layers = register_module(
      "layers", timae_layers(o, {o.decoder_emb_size, o.num_decoder_heads, o.num_decoder_layers,
                                 o.decoder_intermediate_dim, o.decoder_ssm_state_size,
                                 o.decoder_expand_factor, o.decoder_conv_size}));
  norm = register_module(
      "norm", torch::nn::LayerNorm(
                  torch::nn::LayerNormOptions({o.decoder_emb_size}).eps(o.layer_norm_eps)));
  projection = register_module("projection", torch::nn::Linear(o.decoder_emb_size, o.input_dim));
}

at::Tensor TiMAEDecoderImpl::forward(const TiMAEEncoding& encoding) {
  TORCH_CHECK(encoding.mask.restore_ids.defined(), "TiMAEDecoder: the encoding was not masked");
  // The encoder puts its CLS token last for a causal scan, where it has seen every step; the
  // decoder puts it first, so that a causal decoder's every step can read it (and it learns).
  const bool encoder_cls_first = options_.mixer == TiMAEMixer::kTransformer;
  const int64_t length = encoding.mask.restore_ids.size(1);
  at::Tensor tokens = ops::linear(encoding.hidden, embedding);  // (B, T, W)
  at::Tensor cls;
  if (options_.cls_embed) {
    const int64_t steps = tokens.size(1) - 1;
    cls = tokens.narrow(1, encoder_cls_first ? 0 : steps, 1);     // (B, 1, W)
    tokens = tokens.narrow(1, encoder_cls_first ? 1 : 0, steps);  // (B, K, W)
  }
  tokens = ops::restore_steps(tokens, mask_token, encoding.mask);          // (B, L, W)
  const at::Tensor& positions = positions_.get(length, tokens.options());  // (1 + L, W)
  tokens = tokens + positions.narrow(0, 1, length);
  if (options_.cls_embed) tokens = attach_cls(tokens, cls + positions[0], /*first=*/true);
  at::Tensor out = ops::linear(nn::layer_norm(norm, run_timae_layers(layers, tokens)),
                               projection);  // (B, T', C)
  if (options_.cls_embed) out = out.narrow(1, 1, length);
  trace_shapes("TiMAEDecoder", encoding.hidden, out);
  return out;
}

}  // namespace ssmkit::models
