// The global data-dependent MLP (GDD-MLP) of CMamba: mixes information across channels by turning
// per-(channel, patch) descriptors into a data-dependent scale and shift for every token.
//
// For tokens x (B, C, P, D), following the official CMamba code:
//   d_avg = mean_D x, d_max = max_D x                                  each (B, C, P)
//   scale = sum_pool MLP_scale(d_pool over C)   shift = sum_pool MLP_shift(d_pool over C)
//   out   = sigmoid(scale) * x + sigmoid(shift)                        (B, C, P, D)
// where each MLP maps the C descriptors of one (b, p) through C -> C/r -> C (GELU, no bias), so a
// token's scale and shift depend on all channels at its patch position. The sigmoid on the shift is
// the official code's choice (a bounded, positive shift) and is kept as is.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "ssmkit/nn/channel_mlp.h"

namespace ssmkit::nn {

struct GddMlpOptions {
  int64_t num_channels = 1;  // C
  int64_t reduction = 2;
  ChannelPooling pooling;
};

class GddMlpImpl : public torch::nn::Module {
 public:
  explicit GddMlpImpl(const GddMlpOptions& options);

  // x (B, C, P, D) -> (B, C, P, D).
  at::Tensor forward(const at::Tensor& x);

 private:
  GddMlpOptions options_;
  ChannelMlp scale_mlp_{nullptr};
  ChannelMlp shift_mlp_{nullptr};
};
TORCH_MODULE(GddMlp);

}  // namespace ssmkit::nn
