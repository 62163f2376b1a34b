// The CUDA attention kernels (their functions only in builds with SSMKIT_WITH_CUDA), called by
// ops::multi_head_attention for float32 heads of at most 32 channels.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ssmkit::ops {

bool attention_cuda_takes(const at::Tensor& qkv,  // (B, L, 3 D)
                          int64_t heads);

// With autograd: the backward redraws the forward's dropout mask.
at::Tensor attention_cuda(const at::Tensor& qkv,                    // (B, L, 3 D)
                          int64_t heads, double drop_probability);  // -> (B, L, D)

}  // namespace ssmkit::ops
