// The CPU multi-head attention: tensors in the kernels' layout, the loops over LibTorch's threads,
// and the autograd function (ops/attention.cpp holds the argument checks).
#include "ssmkit/ops/attention_cpu.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/torch.h>

#include <atomic>
#include <string>
#include <vector>

#include "attention_cpu_kernel.h"

namespace ssmkit::ops {
namespace {

namespace k = kernels_cpu;

// Null until set_attention_cpu_isa: the fastest set.
std::atomic<const k::AttentionCpuKernels*> g_chosen_attention_kernels{nullptr};

const k::AttentionCpuKernels& attention_kernels() {
  static const k::AttentionCpuKernels* const fastest = k::runnable_attention_kernels().front();
  const k::AttentionCpuKernels* chosen = g_chosen_attention_kernels.load();
  return chosen != nullptr ? *chosen : *fastest;
}

kernels::AttentionShape shape_of(const at::Tensor& qkv, int64_t heads) {  // qkv (B, L, 3 D)
  return kernels::attention_shape(qkv.size(0), qkv.size(1), qkv.size(2), heads);
}

// `keep` is empty without dropout (an autograd function takes no undefined tensors).
k::AttentionCpuDropout dropout_of(const at::Tensor& keep, double p) {
  k::AttentionCpuDropout d;
  if (keep.numel() > 0) {
    d.keep = keep.data_ptr<uint8_t>();
    d.keep_scale = static_cast<float>(1.0 / (1.0 - p));
  }
  return d;
}

// Runs kernel(begin, end, scratch) over the B * H (batch, head) pairs on LibTorch's threads.
template <typename Kernel>
void for_heads(const kernels::AttentionShape& s, const Kernel& kernel) {
  const auto scratch_floats = static_cast<size_t>(k::attention_cpu_scratch_floats(s));
  at::parallel_for(0, s.batch * s.heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(scratch_floats);
    kernel(begin, end, scratch.data());
  });
}

class CpuAttention : public torch::autograd::Function<CpuAttention> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& qkv_in, int64_t heads,
                                                const at::Tensor& keep_in, double p) {
    const at::Tensor qkv = qkv_in.contiguous();    // (B, L, 3 D)
    const at::Tensor keep = keep_in.contiguous();  // (B, H, L, L) or empty
    k::AttentionCpuForward params;
    params.shape = shape_of(qkv, heads);
    const kernels::AttentionShape& s = params.shape;
    const at::Tensor y = at::empty({s.batch, s.length, heads * s.head_dim}, qkv.options());
    const at::Tensor lse = at::empty({s.batch, heads, s.length}, qkv.options());
    params.qkv = qkv.data_ptr<float>();
    params.y = y.data_ptr<float>();
    params.lse = lse.data_ptr<float>();
    params.dropout = dropout_of(keep, p);
    const k::AttentionCpuForwardFn fn = attention_kernels().forward;
    for_heads(s,
              [&](int64_t begin, int64_t end, float* scratch) { fn(params, begin, end, scratch); });
    ctx->save_for_backward({qkv, y, lse, keep});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["p"] = p;
    return {y};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const at::Tensor &qkv = saved[0], &y = saved[1], &lse = saved[2], &keep = saved[3];
    const at::Tensor grad_y = grad_outputs[0].contiguous();  // (B, L, D)
    const at::Tensor grad_qkv = at::empty_like(qkv);
    k::AttentionCpuBackward params;
    params.shape = shape_of(qkv, ctx->saved_data["heads"].toInt());
    params.qkv = qkv.data_ptr<float>();
    params.y = y.data_ptr<float>();
    params.grad_y = grad_y.data_ptr<float>();
    params.lse = lse.data_ptr<float>();
    params.grad_qkv = grad_qkv.data_ptr<float>();
    params.dropout = dropout_of(keep, ctx->saved_data["p"].toDouble());
    const k::AttentionCpuBackwardFn fn = attention_kernels().backward;
    for_heads(params.shape,
              [&](int64_t begin, int64_t end, float* scratch) { fn(params, begin, end, scratch); });
    return {grad_qkv, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool attention_cpu_takes(const at::Tensor& qkv, int64_t heads) {
  return qkv.device().is_cpu() && qkv.scalar_type() == at::kFloat && qkv.dim() == 3 && heads >= 1 &&
         qkv.size(2) % (3 * heads) == 0 && qkv.size(2) / (3 * heads) <= k::kAttentionCpuMaxHeadDim;
}

at::Tensor attention_cpu(const at::Tensor& qkv, int64_t heads, const at::Tensor& keep,
                         double drop_probability) {
  TORCH_CHECK(attention_cpu_takes(qkv, heads), "attention_cpu: 'qkv' must be a CPU float32 (B, L, ",
              "3 D) tensor with heads (", heads, ") of at most ", k::kAttentionCpuMaxHeadDim,
              " channels, got ", qkv.scalar_type(), " ", qkv.sizes(), " on ", qkv.device());
  // The loops read B H L L bytes of the mask: anything else would read past it.
  TORCH_CHECK(!keep.defined() ||
                  (keep.scalar_type() == at::kByte &&
                   keep.sizes() == at::IntArrayRef({qkv.size(0), heads, qkv.size(1), qkv.size(1)})),
              "attention_cpu: 'keep' must be uint8 of shape (B, H, L, L) = (", qkv.size(0), ", ",
              heads, ", ", qkv.size(1), ", ", qkv.size(1), "), got ", keep.scalar_type(), " ",
              keep.sizes());
  const at::Tensor mask = keep.defined() ? keep : at::empty({0}, qkv.options().dtype(at::kByte));
  return CpuAttention::apply(qkv, heads, mask, drop_probability)[0];
}

std::vector<std::string> attention_cpu_isas() {
  std::vector<std::string> names;
  for (const k::AttentionCpuKernels* set : k::runnable_attention_kernels())
    names.emplace_back(set->isa);
  return names;
}

void set_attention_cpu_isa(const std::string& isa) {
  for (const k::AttentionCpuKernels* set : k::runnable_attention_kernels()) {
    if (isa == set->isa) {
      g_chosen_attention_kernels.store(set);
      return;
    }
  }
  TORCH_CHECK(false, "set_attention_cpu_isa: '", isa,
              "' is not an instruction set this build and CPU run (",
              c10::Join(", ", attention_cpu_isas()), ")");
}

}  // namespace ssmkit::ops
