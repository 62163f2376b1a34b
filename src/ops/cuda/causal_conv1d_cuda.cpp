// Host side of the CUDA causal conv1d: tensors to kernel params, launches on the current stream,
// and the autograd function whose backward runs the backward kernel.
#include "ssmkit/ops/causal_conv1d_cuda.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/csrc/autograd/custom_function.h>

#include "causal_conv1d/causal_conv1d_launch.h"
#include "kernel_dtype.h"

namespace ssmkit::ops {
namespace {

namespace k = ssmkit::kernels;

constexpr int64_t kMaxGridY = 65535;

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Tensors in the layouts the kernels read: taps and bias as float32 (the kernels compute in
// float32, and under autocast they arrive as float32 next to 16-bit activations).
struct ConvCall {
  at::Tensor x;       // (B, D, L) any strides
  at::Tensor weight;  // (D, K) float32 contiguous
  at::Tensor bias;    // (D) float32 contiguous, or undefined
  bool silu = false;
};

ConvCall prepare(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, bool silu) {
  TORCH_CHECK(causal_conv1d_cuda_supports(x, weight.size(1)),
              "causal_conv1d: the CUDA kernels do not take 'x' of shape ", x.sizes(), ", dtype ",
              c10::toString(x.scalar_type()), " on ", x.device(), " with ", weight.size(1),
              " taps");
  ConvCall c;
  c.x = x;
  c.weight = weight.to(at::kFloat).contiguous();
  if (bias.defined()) c.bias = bias.to(at::kFloat).contiguous();
  c.silu = silu;
  return c;
}

void fill_params(const ConvCall& c, k::CausalConv1dParams* p) {
  p->batch = c.x.size(0);
  p->dim = c.x.size(1);
  p->seqlen = c.x.size(2);
  p->width = static_cast<int>(c.weight.size(1));
  p->silu = c.silu;
  p->x = c.x.data_ptr();
  p->x_batch_stride = c.x.stride(0);
  p->x_dim_stride = c.x.stride(1);
  p->x_time_stride = c.x.stride(2);
  p->n_time_tiles = ceil_div(p->seqlen, k::conv_time_tile_steps(*p));
  p->weight = c.weight.data_ptr<float>();
  p->bias = c.bias.defined() ? c.bias.data_ptr<float>() : nullptr;
}

at::Tensor run_forward(const ConvCall& c) {
  const c10::cuda::CUDAGuard guard(c.x.device());
  at::Tensor y = at::empty(c.x.sizes(), c.x.options());  // (B, D, L) contiguous
  if (y.numel() == 0) return y;
  k::CausalConv1dParams p;
  fill_params(c, &p);
  p.y = y.data_ptr();
  C10_CUDA_CHECK(k::launch_causal_conv1d_fwd(p, kernel_dtype(c.x.scalar_type(), "causal_conv1d"),
                                             at::cuda::getCurrentCUDAStream()));
  return y;
}

struct ConvGradients {
  at::Tensor dx;       // (B, D, L) x's dtype
  at::Tensor dweight;  // (D, K) float32
  at::Tensor dbias;    // (D) float32, or undefined
};

ConvGradients run_backward(const ConvCall& c, const at::Tensor& dy_in) {
  const c10::cuda::CUDAGuard guard(c.x.device());
  const int64_t batch = c.x.size(0), dim = c.x.size(1);
  const int64_t width = c.weight.size(1);
  const at::TensorOptions f32 = c.x.options().dtype(at::kFloat);
  ConvGradients g;
  g.dx = at::empty(c.x.sizes(), c.x.options());
  if (g.dx.numel() == 0) {
    g.dweight = at::zeros({dim, width}, f32);
    if (c.bias.defined()) g.dbias = at::zeros({dim}, f32);
    return g;
  }
  at::Tensor dy = dy_in.to(c.x.scalar_type());  // (B, D, L), time contiguous
  if (dy.stride(2) != 1) dy = dy.contiguous();
  k::CausalConv1dBwdParams p;
  fill_params(c, &p);
  const int64_t tiles = p.n_time_tiles;
  const at::Tensor dweight_partial = at::empty({batch, tiles, dim, width}, f32);
  at::Tensor dbias_partial;
  if (c.bias.defined()) dbias_partial = at::empty({batch, tiles, dim}, f32);

  p.dy = dy.data_ptr();
  p.dy_batch_stride = dy.stride(0);
  p.dy_dim_stride = dy.stride(1);
  p.dx = g.dx.data_ptr();
  p.dweight_partial = dweight_partial.data_ptr<float>();
  p.dbias_partial = c.bias.defined() ? dbias_partial.data_ptr<float>() : nullptr;
  C10_CUDA_CHECK(k::launch_causal_conv1d_bwd(p, kernel_dtype(c.x.scalar_type(), "causal_conv1d"),
                                             at::cuda::getCurrentCUDAStream()));
  g.dweight = dweight_partial.sum(at::IntArrayRef{0, 1});  // over batch and time tiles
  if (c.bias.defined()) g.dbias = dbias_partial.sum(at::IntArrayRef{0, 1});
  return g;
}

// Bias travels as an empty tensor when absent (autograd functions take defined tensors).
class CausalConv1dFunction : public torch::autograd::Function<CausalConv1dFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, at::Tensor x,
                                                at::Tensor weight, at::Tensor bias, bool has_bias,
                                                bool silu) {
    const ConvCall c = prepare(x, weight, has_bias ? bias : at::Tensor(), silu);
    ctx->save_for_backward({x, weight, bias});
    ctx->saved_data["has_bias"] = has_bias;
    ctx->saved_data["silu"] = silu;
    return {run_forward(c)};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const bool has_bias = ctx->saved_data["has_bias"].toBool();
    const bool silu = ctx->saved_data["silu"].toBool();
    const at::Tensor& weight = saved[1];
    const at::Tensor& bias = saved[2];
    const ConvCall c = prepare(saved[0], weight, has_bias ? bias : at::Tensor(), silu);
    const ConvGradients g = run_backward(c, grad_outputs[0]);
    return {g.dx, g.dweight.to(weight.scalar_type()),
            has_bias ? g.dbias.to(bias.scalar_type()) : at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool causal_conv1d_cuda_supports(const at::Tensor& x, int64_t width) {
  const at::ScalarType t = x.scalar_type();
  return x.is_cuda() && x.dim() == 3 && (t == at::kFloat || t == at::kBFloat16 || t == at::kHalf) &&
         width >= 1 && width <= k::kConvMaxWidth && x.size(0) <= kMaxGridY &&
         ceil_div(x.size(1), k::kConvTileChannels) <= kMaxGridY && x.size(2) >= 1;
}

at::Tensor causal_conv1d_cuda(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                              ConvActivation activation) {
  const bool silu = activation == ConvActivation::kSilu;
  const at::Tensor bias_or_empty = bias.defined() ? bias : at::empty({0}, weight.options());
  return CausalConv1dFunction::apply(x, weight, bias_or_empty, bias.defined(), silu)[0];
}

}  // namespace ssmkit::ops
