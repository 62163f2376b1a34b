// Multi-head scaled dot-product attention over one projection's packed queries, keys and values.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ssmkit::ops {

// softmax(Q K^T / sqrt(d)) V per head, with dropout of probability `drop_probability` on the
// weights (pass 0 outside training). qkv holds, per step, the queries, then the keys, then the
// values, each as `heads` heads of d = D / heads channels (a Linear D -> 3 D's output, as
// SelfAttention packs it). On CUDA in float32, for heads of at most 32 channels and sequences whose
// head fits a thread block, ssmkit's kernels (kernels/cuda/attention); on the CPU in float32,
// ssmkit's loops (ops/attention_cpu.h); elsewhere LibTorch 2's fused attention, or the same
// computation spelled out on LibTorch 1.
at::Tensor multi_head_attention(const at::Tensor& qkv,                    // (B, L, 3 D)
                                int64_t heads, double drop_probability);  // -> (B, L, D)

}  // namespace ssmkit::ops
