// Reversible instance normalisation (RevIN): each series of each channel is centred and scaled by
// its own statistics over time before the network, and the forecast is mapped back with the same
// statistics afterwards, so the network sees stationary inputs.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace ssmkit::nn {

struct RevINOptions {
  int64_t num_channels = 1;    // C
  double eps = 1e-5;           // added to the variance before the square root
  bool affine = false;         // learnable per-channel weight and bias after normalising
  bool subtract_last = false;  // centre on the last value instead of the mean over time
};

// The statistics of one batch, produced by normalize and consumed by denormalize.
struct RevINStats {
  at::Tensor center;  // (B, 1, C) mean over time, or the last value with subtract_last
  at::Tensor scale;   // (B, 1, C) sqrt(biased variance over time + eps)
};

// Statistics are detached: the network learns in the normalised space and the statistics act as
// constants of the input, as in RevIN.
class RevINImpl : public torch::nn::Module {
 public:
  explicit RevINImpl(const RevINOptions& options);

  struct Normalized {
    at::Tensor values;  // (B, L, C)
    RevINStats stats;
  };

  // x (B, L, C) with L >= 1 -> normalised values (B, L, C) and the statistics of each (b, c).
  Normalized normalize(const at::Tensor& x);
  // y (B, H, C) in the normalised space -> (B, H, C) in the space of the input to normalize.
  at::Tensor denormalize(const at::Tensor& y, const RevINStats& stats);

  const RevINOptions& options() const { return options_; }

 private:
  RevINOptions options_;
  at::Tensor weight_;  // (C) affine only
  at::Tensor bias_;    // (C) affine only
};
TORCH_MODULE(RevIN);

}  // namespace ssmkit::nn
