// LayerNorm: the argument checks, LibTorch's layer_norm, and on CUDA the autograd function around
// the kernels of kernels/cuda/layer_norm.
#include "ssmkit/ops/layer_norm.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/torch.h>

#include "ssmkit/ops/layer_norm_cuda.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::ops {
namespace {

constexpr const char* kLayerNormFn = "layer_norm";

#ifdef SSMKIT_WITH_CUDA
class CudaLayerNorm : public torch::autograd::Function<CudaLayerNorm> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& x, const at::Tensor& weight,
                                                const at::Tensor& bias, double eps) {
    const LayerNormCudaForward out = layer_norm_cuda_forward(x, weight, bias, eps);
    ctx->save_for_backward({x, weight, out.mean, out.rstd});
    return {out.y};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const LayerNormCudaGradients g = layer_norm_cuda_backward(
        grad_outputs[0].contiguous(), saved[0], saved[1].contiguous(), saved[2], saved[3]);
    return {g.grad_x, g.grad_weight, g.grad_bias, at::Tensor()};
  }
};
#endif

}  // namespace

at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                      double eps) {
  TORCH_CHECK(x.dim() >= 1, kLayerNormFn, ": 'x' needs at least one dimension");
  const int64_t channels = x.size(-1);
  check_shape(weight, kLayerNormFn, "weight", "(H)", {channels});
  check_shape(bias, kLayerNormFn, "bias", "(H)", {channels});
  check_same_device(weight, x, kLayerNormFn, "weight", "x");
  check_same_device(bias, x, kLayerNormFn, "bias", "x");
#ifdef SSMKIT_WITH_CUDA
  if (layer_norm_cuda_takes(x, weight) && bias.scalar_type() == at::kFloat)
    return CudaLayerNorm::apply(x, weight, bias, eps)[0];
#endif
  return at::layer_norm(x, {channels}, weight, bias, eps);
}

}  // namespace ssmkit::ops
