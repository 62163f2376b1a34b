// Multi-head attention: the argument checks, ssmkit's CUDA kernels where they apply, LibTorch
// otherwise.
#include "ssmkit/ops/attention.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <string>

#include "ssmkit/io/error.h"
#include "ssmkit/ops/attention_cpu.h"
#include "ssmkit/ops/attention_cuda.h"
#include "ssmkit/ops/dropout.h"
#include "ssmkit/util/checks.h"

// LibTorch 2.0 added the fused attention entry point.
#define SSMKIT_HAS_FUSED_ATTENTION (TORCH_VERSION_MAJOR >= 2)

namespace ssmkit::ops {

at::Tensor multi_head_attention(const at::Tensor& qkv, int64_t heads, double drop_probability) {
  constexpr const char* fn = "multi_head_attention";
  check_defined(qkv, fn, "qkv");
  if (!(drop_probability >= 0.0 && drop_probability < 1.0)) {
    throw InputError(std::string(fn) + ": dropout must be in [0, 1), got " +
                     std::to_string(drop_probability));
  }
  TORCH_CHECK(heads >= 1 && qkv.dim() == 3 && qkv.size(2) % (3 * heads) == 0, fn,
              ": 'qkv' has shape ", shape_string(qkv.sizes()), ", expected (B, L, 3 D) with D a ",
              "multiple of heads (", heads, ")");
  const int64_t batch = qkv.size(0), length = qkv.size(1), d_model = qkv.size(2) / 3;
  const int64_t head_dim = d_model / heads;
#ifdef SSMKIT_WITH_CUDA
  if (attention_cuda_takes(qkv, heads)) return attention_cuda(qkv, heads, drop_probability);
#endif
  if (attention_cpu_takes(qkv, heads) && batch * length > 0) {
    const at::Tensor keep =
        drop_probability > 0.0 ? dropout_keep_mask({batch, heads, length, length}, drop_probability)
                               : at::Tensor();
    return attention_cpu(qkv, heads, keep, drop_probability);
  }
  // (B, L, 3 D) -> 3 x (B, H, L, d)
  const auto parts =
      qkv.view({batch, length, 3, heads, head_dim}).permute({2, 0, 3, 1, 4}).unbind(0);
#if SSMKIT_HAS_FUSED_ATTENTION
  at::Tensor y =
      at::scaled_dot_product_attention(parts[0], parts[1], parts[2], {}, drop_probability);
#else
  at::Tensor weights = torch::softmax(torch::matmul(parts[0], parts[1].transpose(-2, -1)) /
                                          std::sqrt(static_cast<double>(head_dim)),
                                      -1);  // (B, H, L, L)
  weights = ops::dropout(weights, drop_probability, /*training=*/true);
  at::Tensor y = torch::matmul(weights, parts[2]);  // (B, H, L, d)
#endif
  return y.transpose(1, 2).reshape({batch, length, d_model});
}

}  // namespace ssmkit::ops
