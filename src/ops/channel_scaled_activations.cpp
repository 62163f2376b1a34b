// The channel-scaled activations: argument checks and one autograd function each, whose forward
// and backward run the CUDA kernels for contiguous float32 CUDA tensors and LibTorch's operators
// otherwise.
#include "ssmkit/ops/channel_scaled_activations.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/torch.h>

#include "ssmkit/ops/channel_scaled_activations_cuda.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool on_cuda_kernels(const at::Tensor& x) {
#ifdef SSMKIT_WITH_CUDA
  return channel_scaled_cuda_takes(x);
#else
  (void)x;
  return false;
#endif
}

at::Tensor scaled(const at::Tensor& x, const at::Tensor& scale) {
  return scale.defined() ? x * scale : x;
}

// `scale`, when given, is (B, 1, H) for an x of (B, L, H) or (B, L, 2H) (channels H).
void check_scale(const char* fn, const at::Tensor& x, int64_t channels, const at::Tensor& scale) {
  if (!scale.defined()) return;
  check_shape(scale, fn, "scale", "(B, 1, H)", {x.size(0), 1, channels});
  check_same_device(scale, x, fn, "scale", "the input");
  TORCH_CHECK(scale.scalar_type() == x.scalar_type(), fn, ": 'scale' has dtype ",
              c10::toString(scale.scalar_type()), ", expected the input's (",
              c10::toString(x.scalar_type()), ")");
}

at::Tensor contiguous_or_undefined(const at::Tensor& t) {
  return t.defined() ? t.contiguous() : t;
}

// The scale reaches the autograd functions wrapped: it takes no gradient, and LibTorch's
// functions do not take undefined tensors among their inputs.
struct Scale {
  at::Tensor tensor;  // (B, 1, H) or undefined
};

class GeluChannelScaled : public torch::autograd::Function<GeluChannelScaled> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& y_in, const Scale& s) {
    const at::Tensor y = y_in.contiguous(), scale = contiguous_or_undefined(s.tensor);
    ctx->save_for_backward({y, scale});
    if (on_cuda_kernels(y)) return {gelu_channel_scaled_cuda_forward(y, scale)};
    return {scaled(at::gelu(y), scale)};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& y = saved[0];
    const at::Tensor& scale = saved[1];
    // Contiguous: LibTorch 1.13's GELU backward misreads a strided incoming gradient.
    const at::Tensor grad_z = grad_outputs[0].contiguous();
    if (on_cuda_kernels(y)) return {gelu_channel_scaled_cuda_backward(grad_z, y, scale), {}};
    return {at::gelu_backward(scaled(grad_z, scale).contiguous(), y), {}};
  }
};

class GluChannelScaled : public torch::autograd::Function<GluChannelScaled> {
 public:
  // Without a residual, `residual_in` is an empty placeholder (has_residual false).
  static variable_list forward(AutogradContext* ctx, const at::Tensor& lin_in, const Scale& s,
                               const at::Tensor& residual_in, bool has_residual) {
    const at::Tensor lin = lin_in.contiguous(), scale = contiguous_or_undefined(s.tensor),
                     residual = has_residual ? residual_in.contiguous() : at::Tensor();
    ctx->save_for_backward({lin, scale});
    ctx->saved_data["has_residual"] = has_residual;
    if (on_cuda_kernels(lin)) return {glu_channel_scaled_cuda_forward(lin, scale, residual)};
    at::Tensor z = scaled(at::glu(lin, -1), scale);
    return {residual.defined() ? z + residual : z};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& lin = saved[0];
    const at::Tensor& scale = saved[1];
    const at::Tensor grad_z = grad_outputs[0].contiguous();
    const at::Tensor grad_lin = on_cuda_kernels(lin)
                                    ? glu_channel_scaled_cuda_backward(grad_z, lin, scale)
                                    : at::glu_backward(scaled(grad_z, scale), lin, -1);
    const bool has_residual = ctx->saved_data["has_residual"].toBool();
    return {grad_lin, {}, has_residual ? grad_z : at::Tensor(), {}};
  }
};

}  // namespace

at::Tensor gelu_channel_scaled(const at::Tensor& y, const at::Tensor& scale) {
  constexpr const char* fn = "gelu_channel_scaled";
  check_rank(y, fn, "y", "(B, L, H)", 3);
  check_dtype(y, fn, "y", {at::kFloat, at::kDouble});
  check_scale(fn, y, y.size(2), scale);
  return GeluChannelScaled::apply(y, Scale{scale})[0];
}

at::Tensor glu_channel_scaled(const at::Tensor& lin, const at::Tensor& scale,
                              const at::Tensor& residual) {
  constexpr const char* fn = "glu_channel_scaled";
  check_rank(lin, fn, "lin", "(B, L, 2H)", 3);
  check_dtype(lin, fn, "lin", {at::kFloat, at::kDouble});
  TORCH_CHECK(lin.size(2) % 2 == 0, fn, ": 'lin' has shape ", shape_string(lin.sizes()),
              ", expected an even last dimension (value and gate)");
  const int64_t channels = lin.size(2) / 2;
  check_scale(fn, lin, channels, scale);
  if (residual.defined()) {
    check_shape(residual, fn, "residual", "(B, L, H)", {lin.size(0), lin.size(1), channels});
    check_same_device(residual, lin, fn, "residual", "lin");
    TORCH_CHECK(residual.scalar_type() == lin.scalar_type(), fn, ": 'residual' has dtype ",
                c10::toString(residual.scalar_type()), ", expected the dtype of 'lin' (",
                c10::toString(lin.scalar_type()), ")");
  }
  const bool has_residual = residual.defined();
  return GluChannelScaled::apply(
      lin, Scale{scale}, has_residual ? residual : at::empty({0}, lin.options()), has_residual)[0];
}

}  // namespace ssmkit::ops
