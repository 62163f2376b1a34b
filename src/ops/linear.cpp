// The linear layer with its bias gradient as a matrix-vector product on CUDA.
#include "ssmkit/ops/linear.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/torch.h>

#include "ssmkit/util/checks.h"

namespace ssmkit::ops {
namespace {

constexpr const char* kLinearFn = "linear";

class RowProductLinear : public torch::autograd::Function<RowProductLinear> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& x, const at::Tensor& weight,
                                                const at::Tensor& bias) {
    ctx->save_for_backward({x, weight, bias});
    return {at::linear(x, weight, bias)};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1], &bias = saved[2];
    // Under autocast the product ran in a 16-bit dtype: the backward runs in the gradient's
    // dtype and returns each gradient in its input's.
    const at::Tensor rows = grad_outputs[0].reshape({-1, weight.size(0)});  // (rows, out)
    const at::Tensor w = weight.to(rows.scalar_type());                     // (out, in)
    const at::Tensor inputs = x.reshape({-1, weight.size(1)}).to(rows.scalar_type());
    // An input that needs no gradient (a model's raw series) skips its product.
    const at::Tensor grad_x =
        ctx->needs_input_grad(0) ? rows.mm(w).view(x.sizes()).to(x.scalar_type()) : at::Tensor();
    const at::Tensor grad_weight = rows.t().mm(inputs).to(weight.scalar_type());
    const at::Tensor grad_bias =
        rows.t().mv(at::ones({rows.size(0)}, rows.options())).to(bias.scalar_type());
    return {grad_x, grad_weight, grad_bias};
  }
};

}  // namespace

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  check_rank(weight, kLinearFn, "weight", "(out, in)", 2);
  TORCH_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), kLinearFn, ": 'x' has shape ",
              shape_string(x.sizes()), ", expected (..., ", weight.size(1), ")");
  // Without a bias there is no column sum to replace.
  if (!bias.defined()) return at::linear(x, weight);
  check_shape(bias, kLinearFn, "bias", "(out)", {weight.size(0)});
  if (x.is_cuda() && x.numel() > 0) return RowProductLinear::apply(x, weight, bias)[0];
  return at::linear(x, weight, bias);
}

at::Tensor linear(const at::Tensor& x, const torch::nn::Linear& module) {
  return linear(x, module->weight, module->bias);
}

}  // namespace ssmkit::ops
