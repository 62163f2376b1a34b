// Ti-MAE's encoder: a linear embedding of each time step, fixed sinusoidal positions (row 0 for the
// CLS token, rows 1..L for the steps, so max_len steps plus the CLS token always fit), optional
// random masking (the encoder then sees only the kept steps), an optional learned CLS token, a
// stack of transformer or Mamba-2 layers and a final LayerNorm. The CLS token goes first for
// attention and last for a Mamba-2 stack, where only the last token has seen the whole sequence.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <map>
#include <string>

#include "ssmkit/models/timae_options.h"
#include "ssmkit/ops/random_masking.h"

namespace ssmkit::models {

struct TiMAEEncoding {
  // (B, T, emb_size): T = K kept steps (or all L) plus the CLS token when there is one.
  at::Tensor hidden;
  ops::RandomMask mask;  // its tensors are undefined when nothing was masked
};

// Position codes of `length` steps plus the CLS slot for a model built for `max_len` steps
// (0: exactly `length`): row 0 is the CLS token's, rows 1.. the steps', interpolated from max_len
// rows when length > max_len.
at::Tensor timae_positions(int64_t length, int64_t max_len, int64_t dim,
                           const at::TensorOptions& options);  // -> (1 + length, dim)

// timae_positions, memoised per (length, device, dtype): the table is a constant, and building it
// inside a CUDA-graph capture would copy from the host, which a capture forbids.
class TiMAEPositionCache {
 public:
  TiMAEPositionCache(int64_t max_len, int64_t dim) : max_len_(max_len), dim_(dim) {}
  const at::Tensor& get(int64_t length, const at::TensorOptions& options);  // (1 + length, dim)

 private:
  int64_t max_len_, dim_;
  std::map<std::string, at::Tensor> tables_;
};

class TiMAEEncoderImpl : public torch::nn::Module {
 public:
  explicit TiMAEEncoderImpl(const TiMAEOptions& options);

  // x (B, L, input_dim); mask_ratio > 0 draws a fresh random mask per sample that removes that
  // share of the steps (pretraining: options().mask_ratio), 0 encodes every step.
  TiMAEEncoding forward(const at::Tensor& x, double mask_ratio);

  // Index of the CLS token in `hidden` (0 or T - 1); only meaningful with cls_embed.
  bool cls_first() const { return options_.mixer == TiMAEMixer::kTransformer; }
  const TiMAEOptions& options() const { return options_; }

  torch::nn::Linear embedding{nullptr};  // input_dim -> emb_size, per step
  at::Tensor cls_token;                  // (emb_size), undefined without cls_embed
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm norm{nullptr};

 private:
  TiMAEOptions options_;
  TiMAEPositionCache positions_;
};
TORCH_MODULE(TiMAEEncoder);

// Builds the mixer layers of one side: transformer layers or Mamba-2 layers of the given width.
struct TiMAEStackShape {
  int64_t width, heads, layers, intermediate, state, expand, conv;
};
torch::nn::ModuleList timae_layers(const TiMAEOptions& options, const TiMAEStackShape& shape);
// Runs each layer of `layers` in turn.
at::Tensor run_timae_layers(torch::nn::ModuleList& layers, at::Tensor x);  // (B, T, W)

// Puts the CLS token (B, 1, W) in front of or behind the tokens (B, T, W).
at::Tensor attach_cls(const at::Tensor& tokens, const at::Tensor& cls, bool first);

}  // namespace ssmkit::models
