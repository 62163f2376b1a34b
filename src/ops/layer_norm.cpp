// LayerNorm with its weight and bias gradients as column sums: LibTorch's forward and input
// gradient, and the two parameter gradients from the normalised input.
#include "ssmkit/ops/layer_norm.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/torch.h>

#include "ssmkit/util/checks.h"

namespace ssmkit::ops {
namespace {

constexpr const char* kLayerNormFn = "layer_norm";

class ColumnSumLayerNorm : public torch::autograd::Function<ColumnSumLayerNorm> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& x, const at::Tensor& weight,
                                                const at::Tensor& bias, double eps) {
    const auto [y, mean, rstd] = at::native_layer_norm(x, {x.size(-1)}, weight, bias, eps);
    ctx->save_for_backward({x, weight, bias, mean, rstd});
    return {y};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1], &bias = saved[2], &mean = saved[3],
                     &rstd = saved[4];
    const at::Tensor grad = grad_outputs[0].contiguous();  // (..., H)
    const int64_t channels = x.size(-1);
    const at::Tensor grad_x = std::get<0>(at::native_layer_norm_backward(
        grad, x, {channels}, mean, rstd, weight, bias, {true, false, false}));
    // mean and rstd are (..., 1): the normalised input, then sums over every row.
    const at::Tensor normalised = (x - mean) * rstd;                                    // (..., H)
    const at::Tensor rows = grad.reshape({-1, channels});                               // (rows, H)
    const at::Tensor grad_weight = (rows * normalised.reshape({-1, channels})).sum(0);  // (H)
    const at::Tensor grad_bias = rows.sum(0);                                           // (H)
    return {grad_x, grad_weight, grad_bias, at::Tensor()};
  }
};

void check_arguments(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  TORCH_CHECK(x.dim() >= 1, kLayerNormFn, ": 'x' needs at least one dimension");
  const int64_t channels = x.size(-1);
  check_shape(weight, kLayerNormFn, "weight", "(H)", {channels});
  check_shape(bias, kLayerNormFn, "bias", "(H)", {channels});
  check_same_device(weight, x, kLayerNormFn, "weight", "x");
  check_same_device(bias, x, kLayerNormFn, "bias", "x");
}

}  // namespace

at::Tensor layer_norm_column_sum_gradients(const at::Tensor& x, const at::Tensor& weight,
                                           const at::Tensor& bias, double eps) {
  check_arguments(x, weight, bias);
  return ColumnSumLayerNorm::apply(x, weight, bias, eps)[0];
}

at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                      double eps) {
  // LibTorch's own elsewhere, and for mixed dtypes (16-bit inputs under autocast).
  if (!x.is_cuda() || x.scalar_type() != weight.scalar_type()) {
    check_arguments(x, weight, bias);
    return at::layer_norm(x, {x.size(-1)}, weight, bias, eps);
  }
  return layer_norm_column_sum_gradients(x, weight, bias, eps);
}

}  // namespace ssmkit::ops
