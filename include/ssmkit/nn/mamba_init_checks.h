// What the Mamba blocks (Mamba, Mamba2) share: Mamba's initialisers for the causal conv and the dt
// bias, and the checks of a block's input and recurrent cache.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ssmkit::nn {

// A depthwise conv at PyTorch's Conv1d default: uniform in +-1/sqrt(fan_in), fan_in = width.
struct DepthwiseConvInit {
  at::Tensor weight;  // (channels, width)
  at::Tensor bias;    // (channels), undefined unless asked for
};
DepthwiseConvInit init_depthwise_conv(int64_t channels, int64_t width, bool with_bias);

// Mamba's dt bias: the inverse softplus of a dt drawn log-uniformly in [dt_min, dt_max] per entry
// and clamped below at dt_init_floor, so that dt starts at softplus(bias) = that draw.
at::Tensor init_dt_bias(int64_t size, double dt_min, double dt_max,
                        double dt_init_floor);  // -> (size) float32

// A block's input: (B, L, d_model) with L >= 1 when rank is 3, (B, d_model) when rank is 2, on the
// device and in the dtype of `param` (one of the block's parameters). Throws c10::Error naming
// `fn`.
void check_block_input(const at::Tensor& x, int64_t rank, int64_t d_model, const at::Tensor& param,
                       const char* fn);

// A cache's tensors on the device of `param`, the scan state float32 or float64. Each block checks
// the shapes, which differ between them.
void check_cache_placement(const at::Tensor& conv_state,  // (B, *, d_conv)
                           const at::Tensor& ssm_state,   // the scan state
                           const at::Tensor& param, const char* fn);

}  // namespace ssmkit::nn
