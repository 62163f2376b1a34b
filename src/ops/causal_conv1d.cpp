// Depthwise causal conv1d: the CUDA kernels for CUDA inputs they take, else LibTorch's grouped
// convolution (differentiable, vectorised) or shifted multiply-adds on the CPU; and its one-step
// recurrent form in plain elementwise ops.
#include "ssmkit/ops/causal_conv1d.h"

#include <torch/torch.h>

#include "ssmkit/util/checks.h"

#ifdef SSMKIT_WITH_CUDA
#include "ssmkit/ops/causal_conv1d_cuda.h"
#endif

namespace ssmkit::ops {
namespace {

constexpr std::initializer_list<at::ScalarType> kConvTypes = {at::kFloat, at::kDouble, at::kHalf,
                                                              at::kBFloat16};

// A parameter matches the input's dtype, or is float32 while the input is bf16/fp16: that is what
// bf16 autocast produces (float32 weights, half-precision activations), and the parameter is then
// cast to the input's dtype as autocast would for a convolution.
bool dtype_compatible(const at::Tensor& param, const at::Tensor& input) {
  const bool half_input = input.scalar_type() == at::kBFloat16 || input.scalar_type() == at::kHalf;
  return param.scalar_type() == input.scalar_type() ||
         (half_input && param.scalar_type() == at::kFloat);
}

// `param` in the dtype of `input` (a no-op when they already match); undefined stays undefined.
at::Tensor in_dtype_of(const at::Tensor& param, const at::Tensor& input) {
  return param.defined() ? param.to(input.scalar_type()) : param;
}

// Checks weight (D, K) and bias (D) against `reference` (the input) and returns K.
int64_t check_weight_and_bias(const at::Tensor& reference, int64_t channels,
                              const at::Tensor& weight, const at::Tensor& bias, const char* fn) {
  check_rank(weight, fn, "weight", "(D, K)", 2);
  check_shape(weight, fn, "weight", "(D, K)", {channels, -1});
  const int64_t width = weight.size(1);
  TORCH_CHECK(width >= 1, fn, ": 'weight' has shape ", shape_string(weight.sizes()),
              ", expected K >= 1 taps");
  check_same_device(weight, reference, fn, "weight", "x");
  TORCH_CHECK(dtype_compatible(weight, reference), fn, ": 'weight' has dtype ",
              c10::toString(weight.scalar_type()), ", expected the dtype of 'x' (",
              c10::toString(reference.scalar_type()), ")");
  if (bias.defined()) {
    check_shape(bias, fn, "bias", "(D)", {channels});
    check_same_device(bias, reference, fn, "bias", "x");
    TORCH_CHECK(dtype_compatible(bias, reference), fn, ": 'bias' has dtype ",
                c10::toString(bias.scalar_type()), ", expected the dtype of 'x' (",
                c10::toString(reference.scalar_type()), ")");
  }
  return width;
}

void check_sequence(const at::Tensor& x, const char* fn) {
  check_rank(x, fn, "x", "(B, D, L)", 3);
  check_dtype(x, fn, "x", kConvTypes);
  TORCH_CHECK(x.size(2) >= 1, fn, ": 'x' has shape ", shape_string(x.sizes()), ", expected L >= 1");
}

void check_state(const at::Tensor& x, const at::Tensor& conv_state, int64_t width, const char* fn) {
  check_shape(conv_state, fn, "conv_state", "(B, D, K)", {x.size(0), x.size(1), width});
  check_same_device(conv_state, x, fn, "conv_state", "x");
  TORCH_CHECK(conv_state.scalar_type() == x.scalar_type(), fn, ": 'conv_state' has dtype ",
              c10::toString(conv_state.scalar_type()), ", expected the dtype of 'x' (",
              c10::toString(x.scalar_type()), ")");
}

at::Tensor activate(const at::Tensor& y, ConvActivation activation) {
  return activation == ConvActivation::kSilu ? torch::silu(y) : y;
}

// On the CPU, LibTorch's grouped convolution (oneDNN) is slow for Mamba's shapes: its backward
// dominated CMamba training steps. Up to this many taps, K shifted multiply-adds are used instead
// (the same sums, vectorised elementwise ops with cheap gradients).
constexpr int64_t kMaxShiftedTaps = 8;

// The convolution without padding: `padded` already holds the K-1 inputs before the first output.
at::Tensor depthwise_conv_valid(const at::Tensor& padded,  // (B, D, K-1+L)
                                const at::Tensor& weight,  // (D, K)
                                const at::Tensor& bias,    // (D) or undefined
                                int64_t padding) {         // -> (B, D, L + padding)
  const int64_t width = weight.size(1);
  if (!padded.device().is_cpu() || width > kMaxShiftedTaps) {
    const int64_t stride = 1;
    const int64_t dilation = 1;
    return torch::conv1d(padded, weight.unsqueeze(1), bias, stride, padding, dilation,
                         /*groups=*/padded.size(1));
  }
  const at::Tensor input =  // (B, D, K-1+L + 2 * padding)
      padding > 0 ? torch::constant_pad_nd(padded, {padding, padding}) : padded;
  const int64_t length = input.size(2) - width + 1;
  at::Tensor y = input.narrow(2, 0, length) * weight.select(1, 0).unsqueeze(1);  // (B, D, L')
  for (int64_t k = 1; k < width; ++k) {
    y = torch::addcmul(y, input.narrow(2, k, length), weight.select(1, k).unsqueeze(1));
  }
  return bias.defined() ? y + bias.unsqueeze(1) : y;
}

}  // namespace

at::Tensor causal_conv1d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                         ConvActivation activation) {
  constexpr const char* fn = "causal_conv1d";
  check_sequence(x, fn);
  const int64_t width = check_weight_and_bias(x, x.size(1), weight, bias, fn);
#ifdef SSMKIT_WITH_CUDA
  // One kernel for conv and SiLU that reads x in place whatever its strides: LibTorch's depthwise
  // conv copied Mamba's transposed input, then took about 4x the memory time of the conv itself.
  if (causal_conv1d_cuda_supports(x, width)) return causal_conv1d_cuda(x, weight, bias, activation);
#endif
  // Symmetric padding of K-1 and keeping the first L outputs is the left-padded causal conv.
  at::Tensor y = depthwise_conv_valid(x, in_dtype_of(weight, x), in_dtype_of(bias, x), width - 1)
                     .narrow(2, 0, x.size(2));
  return activate(y, activation);
}

at::Tensor causal_conv1d_chunk(const at::Tensor& x, at::Tensor& conv_state,
                               const at::Tensor& weight, const at::Tensor& bias,
                               ConvActivation activation) {
  constexpr const char* fn = "causal_conv1d_chunk";
  check_sequence(x, fn);
  const int64_t width = check_weight_and_bias(x, x.size(1), weight, bias, fn);
  check_state(x, conv_state, width, fn);
  // The oldest state column is the one the next input pushes out: only the last K-1 are context.
  at::Tensor padded = torch::cat({conv_state.narrow(2, 1, width - 1), x}, 2);  // (B, D, K-1+L)
  at::Tensor y =
      depthwise_conv_valid(padded, in_dtype_of(weight, x), in_dtype_of(bias, x), /*padding=*/0);
  conv_state = torch::cat({conv_state, x}, 2).narrow(2, x.size(2), width).contiguous();
  return activate(y, activation);
}

at::Tensor causal_conv1d_update(const at::Tensor& x, at::Tensor& conv_state,
                                const at::Tensor& weight, const at::Tensor& bias,
                                ConvActivation activation) {
  constexpr const char* fn = "causal_conv1d_update";
  check_rank(x, fn, "x", "(B, D)", 2);
  check_dtype(x, fn, "x", kConvTypes);
  const int64_t width = check_weight_and_bias(x, x.size(1), weight, bias, fn);
  check_state(x.unsqueeze(2), conv_state, width, fn);
  conv_state = torch::cat({conv_state.narrow(2, 1, width - 1), x.unsqueeze(2)}, 2);
  at::Tensor y = (conv_state * in_dtype_of(weight, x).unsqueeze(0)).sum(2);  // (B, D)
  if (bias.defined()) y = y + in_dtype_of(bias, x).unsqueeze(0);
  return activate(y, activation);
}

}  // namespace ssmkit::ops
