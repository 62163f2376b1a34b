// ops::multi_head_attention on the CPU in float32: ssmkit's loops (kernels/cpu/
// attention_cpu_kernel_impl.h), one (batch, head) pair per task on LibTorch's threads, and the
// autograd function. The dropout mask is drawn up front as bytes (ops::dropout_keep_mask) and read
// by both passes.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ssmkit::ops {

// Whether attention_cpu takes this call: a CPU float32 (B, L, 3 D) projection, D a multiple of
// heads and heads of at most 256 channels.
bool attention_cpu_takes(const at::Tensor& qkv, int64_t heads);

// multi_head_attention(qkv, heads, p) with the weights' dropout given as `keep` (B, H, L, L),
// uint8, 1 keeps a weight and 0 drops it (kept weights are scaled by 1 / (1 - p)); an undefined
// `keep` is no dropout.
at::Tensor attention_cpu(const at::Tensor& qkv,     // (B, L, 3 D)
                         int64_t heads,             //
                         const at::Tensor& keep,    // (B, H, L, L) or undefined
                         double drop_probability);  // -> (B, L, D)

// The instruction sets whose builds of the loops this CPU runs, fastest first (the default).
std::vector<std::string> attention_cpu_isas();
// Makes later calls use `isa`, one of attention_cpu_isas() (for tests and benchmarks).
void set_attention_cpu_isa(const std::string& isa);

}  // namespace ssmkit::ops
