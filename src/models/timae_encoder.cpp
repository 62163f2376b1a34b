// Ti-MAE's encoder.
#include "ssmkit/models/timae_encoder.h"

#include <torch/torch.h>

#include "ssmkit/nn/layer_norm.h"
#include "ssmkit/nn/mamba2_layer.h"
#include "ssmkit/nn/sinusoidal_positions.h"
#include "ssmkit/nn/transformer_encoder_layer.h"
#include "ssmkit/ops/linear.h"
#include "ssmkit/util/checks.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::models {

at::Tensor timae_positions(int64_t length, int64_t max_len, int64_t dim,
                           const at::TensorOptions& options) {
  const int64_t table_steps = max_len > 0 ? max_len : length;
  const at::Tensor table = nn::sinusoidal_positions(1 + table_steps, dim, options);
  if (length <= table_steps) return table.narrow(0, 0, 1 + length);
  return torch::cat(
      {table.narrow(0, 0, 1), nn::resize_positions(table.narrow(0, 1, table_steps), length)});
}

const at::Tensor& TiMAEPositionCache::get(int64_t length, const at::TensorOptions& options) {
  const std::string key = std::to_string(length) + "/" + options.device().str() + "/" +
                          std::string(c10::toString(options.dtype().toScalarType()));
  auto it = tables_.find(key);
  if (it == tables_.end()) {
    it = tables_.emplace(key, timae_positions(length, max_len_, dim_, options)).first;
  }
  return it->second;
}

torch::nn::ModuleList timae_layers(const TiMAEOptions& options, const TiMAEStackShape& shape) {
  torch::nn::ModuleList list;
  for (int64_t i = 0; i < shape.layers; ++i) {
    if (options.mixer == TiMAEMixer::kTransformer) {
      nn::TransformerEncoderLayerOptions layer;
      layer.d_model = shape.width;
      layer.num_heads = shape.heads;
      layer.intermediate_dim = shape.intermediate;
      layer.qkv_bias = options.qkv_bias;
      layer.attention_dropout = options.attn_dropout_prob;
      layer.ffn_dropout = options.ffn_dropout_prob;
      layer.layer_norm_eps = options.layer_norm_eps;
      list->push_back(nn::TransformerEncoderLayer(layer));
    } else {
      nn::Mamba2Options mamba;
      mamba.d_model = shape.width;
      mamba.d_state = shape.state;
      mamba.d_conv = shape.conv;
      mamba.expand = shape.expand;
      mamba.headdim = shape.expand * shape.width / shape.heads;
      mamba.chunk_size = options.chunk_size;
      mamba.bias = options.bias;
      mamba.conv_bias = options.conv_bias;
      list->push_back(nn::Mamba2Layer(mamba, options.layer_norm_eps, options.mixer_dropout_prob));
    }
  }
  return list;
}

at::Tensor run_timae_layers(torch::nn::ModuleList& layers, at::Tensor x) {
  for (const auto& layer : *layers) {
    if (auto* attention = layer->as<nn::TransformerEncoderLayer>()) {
      x = attention->forward(x);
    } else {
      x = layer->as<nn::Mamba2Layer>()->forward(x);
    }
  }
  return x;
}

at::Tensor attach_cls(const at::Tensor& tokens, const at::Tensor& cls, bool first) {
  return first ? torch::cat({cls, tokens}, 1) : torch::cat({tokens, cls}, 1);
}

TiMAEEncoderImpl::TiMAEEncoderImpl(const TiMAEOptions& options)
    : options_(options), positions_(options.max_len, options.emb_size) {
  options_.validate(/*classifier=*/false);
  const TiMAEOptions& o = options_;
  embedding = register_module("embedding", torch::nn::Linear(o.input_dim, o.emb_size));
  if (o.cls_embed) cls_token = register_parameter("cls_token", torch::zeros({o.emb_size}));
  layers = register_module(
      "layers", timae_layers(o, {o.emb_size, o.num_heads, o.num_layers, o.intermediate_dim,
                                 o.ssm_state_size, o.expand_factor, o.conv_size}));
  norm = register_module(
      "norm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.emb_size}).eps(o.layer_norm_eps)));
}

TiMAEEncoding TiMAEEncoderImpl::forward(const at::Tensor& x, double mask_ratio) {
  constexpr const char* fn = "TiMAEEncoder";
  check_defined(x, fn, "x");
  TORCH_CHECK(x.dim() == 3 && x.size(2) == options_.input_dim, fn, ": 'x' has shape ",
              shape_string(x.sizes()), ", expected (B, L, ", options_.input_dim, ")");
  const int64_t batch = x.size(0), length = x.size(1);
  const at::Tensor& positions = positions_.get(length, x.options());               // (1 + L, E)
  at::Tensor tokens = ops::linear(x, embedding) + positions.narrow(0, 1, length);  // (B, L, E)
  TiMAEEncoding out;
  if (mask_ratio > 0.0) {
    out.mask = ops::random_mask(batch, length, mask_ratio, x.options());
    tokens = ops::gather_steps(tokens, out.mask.keep_ids);  // (B, K, E)
  }
  if (options_.cls_embed) {
    const at::Tensor cls = (cls_token + positions[0]).reshape({1, 1, -1}).expand({batch, 1, -1});
    tokens = attach_cls(tokens, cls, cls_first());
  }
  out.hidden = nn::layer_norm(norm, run_timae_layers(layers, tokens));
  trace_shapes(fn, x, out.hidden);
  return out;
}

}  // namespace ssmkit::models
