// Host side of the CUDA attention: tensors to kernel params, the dropout counters from LibTorch's
// CUDA generator (graph-safe), and the autograd function (ops/attention.cpp holds the checks).
#include "ssmkit/ops/attention_cuda.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <cstdint>
#include <mutex>
#include <type_traits>
#include <vector>

#include "attention/attention_launch.h"
#include "dropout_mask_kernel.h"
#include "float4_aligned.h"

namespace ssmkit::ops {

namespace k = ssmkit::kernels;

namespace {

// LibTorch's PhiloxCudaState keeps the seed as a plain number in some releases and as a
// value-or-pointer union (like the offset) in others.
template <typename Seed>
void read_seed(const Seed& seed, bool captured, k::AttentionDropout& d) {
  if constexpr (std::is_integral_v<Seed>) {
    d.seed = static_cast<uint64_t>(seed);
  } else if (captured) {
    d.seed_ptr = seed.ptr;
  } else {
    d.seed = seed.val;
  }
}

// The dropout of one call: a fresh counter range of the device's default generator. During a
// CUDA graph capture the seed and offset are pointers that each replay reads anew.
k::AttentionDropout draw_dropout(double p, const at::Device& device) {
  k::AttentionDropout d;
  // 16-bit draws, as the CPU dropout's: p is rounded to a multiple of 1/65536.
  d.drop_threshold = static_cast<uint32_t>(std::lround(p * kernels_cpu::kDropoutLevels));
  if (d.drop_threshold == 0) return d;
  d.keep_scale = static_cast<float>(1.0 / (1.0 - p));
  auto generator = at::cuda::detail::getDefaultCUDAGenerator(device.index());
  at::PhiloxCudaState state;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    state = at::check_generator<at::CUDAGeneratorImpl>(generator)->philox_cuda_state(4);
  }
  read_seed(state.seed_, state.captured_, d);
  if (state.captured_) {
    d.offset_ptr = state.offset_.ptr;
    d.offset_intragraph = state.offset_intragraph_;
  } else {
    d.offset = state.offset_.val;
  }
  return d;
}

// The dropout state as numbers, to keep in the autograd context until the backward.
std::vector<int64_t> to_numbers(const k::AttentionDropout& d) {
  return {static_cast<int64_t>(d.drop_threshold),
          static_cast<int64_t>(d.seed),
          static_cast<int64_t>(d.offset),
          static_cast<int64_t>(reinterpret_cast<std::intptr_t>(d.seed_ptr)),
          static_cast<int64_t>(reinterpret_cast<std::intptr_t>(d.offset_ptr)),
          static_cast<int64_t>(d.offset_intragraph)};
}

k::AttentionDropout from_numbers(const std::vector<int64_t>& n, double p) {
  k::AttentionDropout d;
  d.drop_threshold = static_cast<uint32_t>(n.at(0));
  d.keep_scale = d.drop_threshold == 0 ? 1.0f : static_cast<float>(1.0 / (1.0 - p));
  d.seed = static_cast<uint64_t>(n.at(1));
  d.offset = static_cast<uint64_t>(n.at(2));
  d.seed_ptr = reinterpret_cast<const int64_t*>(static_cast<std::intptr_t>(n.at(3)));
  d.offset_ptr = reinterpret_cast<const int64_t*>(static_cast<std::intptr_t>(n.at(4)));
  d.offset_intragraph = static_cast<uint64_t>(n.at(5));
  return d;
}

k::AttentionShape shape_of(const at::Tensor& qkv, int64_t heads) {  // qkv (B, L, 3 D)
  return kernels::attention_shape(qkv.size(0), qkv.size(1), qkv.size(2), heads);
}

class CudaAttention : public torch::autograd::Function<CudaAttention> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& qkv_in, int64_t heads, double p) {
    const at::Tensor qkv = float4_aligned(qkv_in);  // (B, L, 3 D)
    const c10::cuda::CUDAGuard guard(qkv.device());
    k::AttentionParams params;
    params.shape = shape_of(qkv, heads);
    const k::AttentionShape& s = params.shape;
    const at::Tensor y = at::empty({s.batch, s.length, heads * s.head_dim}, qkv.options());
    const at::Tensor lse = at::empty({s.batch, heads, s.length}, qkv.options());
    params.qkv = qkv.data_ptr<float>();
    params.y = y.data_ptr<float>();
    params.lse = lse.data_ptr<float>();
    params.dropout = draw_dropout(p, qkv.device());
    C10_CUDA_CHECK(k::attention_fwd(params, at::cuda::getCurrentCUDAStream()));
    ctx->save_for_backward({qkv, y, lse});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["p"] = p;
    ctx->saved_data["dropout"] = to_numbers(params.dropout);
    return {y};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const at::Tensor &qkv = saved[0], &y = saved[1], &lse = saved[2];
    const at::Tensor grad_y = float4_aligned(grad_outputs[0]);  // (B, L, D)
    const c10::cuda::CUDAGuard guard(qkv.device());
    k::AttentionBwdParams params;
    params.shape = shape_of(qkv, ctx->saved_data["heads"].toInt());
    const at::Tensor grad_qkv = at::empty_like(qkv);
    params.qkv = qkv.data_ptr<float>();
    params.y = y.data_ptr<float>();
    params.grad_y = grad_y.data_ptr<float>();
    params.lse = lse.data_ptr<float>();
    params.grad_qkv = grad_qkv.data_ptr<float>();
    params.dropout =
        from_numbers(ctx->saved_data["dropout"].toIntVector(), ctx->saved_data["p"].toDouble());
    C10_CUDA_CHECK(k::attention_bwd(params, at::cuda::getCurrentCUDAStream()));
    return {grad_qkv, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool attention_cuda_takes(const at::Tensor& qkv, int64_t heads) {
  if (!qkv.is_cuda() || qkv.scalar_type() != at::kFloat || qkv.dim() != 3 || heads < 1 ||
      qkv.size(2) % (3 * heads) != 0) {
    return false;
  }
  const c10::cuda::CUDAGuard guard(qkv.device());
  return k::attention_takes(qkv.size(1), qkv.size(2) / (3 * heads));
}

at::Tensor attention_cuda(const at::Tensor& qkv, int64_t heads, double drop_probability) {
  return CudaAttention::apply(qkv, heads, drop_probability)[0];
}

}  // namespace ssmkit::ops
