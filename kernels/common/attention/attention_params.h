// Parameters of the multi-head attention kernels, free of LibTorch and of CUDA: float32, the
// queries, keys and values packed as one projection's output (B, L, 3, H, d), contiguous. The
// CUDA kernels (kernels/cuda/attention) take all of it, the CPU loops (kernels/cpu/
// attention_cpu_kernel.h) the shape.
#pragma once

#include <cmath>
#include <cstdint>

namespace ssmkit::kernels {

// Dropout on the attention weights: element (b, h, i, j) is dropped when the top 16 bits of a
// counter-based draw (splitmix64 of a key and the element's index) fall below drop_threshold.
// The key comes from (seed, offset). Inside a CUDA graph capture they are read from device
// memory at run time (the generator's graph-safe state), so each replay draws a new mask.
struct AttentionDropout {
  uint32_t drop_threshold = 0;  // of 65536; 0: no dropout
  float keep_scale = 1.0f;      // 1 / (1 - p)
  uint64_t seed = 0;
  uint64_t offset = 0;
  const int64_t* seed_ptr = nullptr;    // when set, the seed is read here
  const int64_t* offset_ptr = nullptr;  // when set, the offset is *offset_ptr + offset_intragraph
  uint64_t offset_intragraph = 0;
};

// The problem both passes share.
struct AttentionShape {
  int64_t batch = 0;
  int64_t length = 0;
  int64_t heads = 0;
  int64_t head_dim = 0;  // d
  float scale = 1.0f;    // of the scores, 1 / sqrt(d)
};

// The shape of a (batch, length, 3 * heads * d) projection split into `heads` heads (host code).
inline AttentionShape attention_shape(int64_t batch, int64_t length, int64_t packed_width,
                                      int64_t heads) {
  AttentionShape s;
  s.batch = batch;
  s.length = length;
  s.heads = heads;
  s.head_dim = packed_width / (3 * heads);
  s.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.head_dim)));
  return s;
}

struct AttentionParams {
  AttentionShape shape;
  const float* qkv = nullptr;  // (B, L, 3, H, d)
  float* y = nullptr;          // (B, L, H, d)
  float* lse = nullptr;        // (B, H, L): log of each softmax row's normaliser, for the backward
  AttentionDropout dropout;
};

struct AttentionBwdParams {
  AttentionShape shape;
  const float* qkv = nullptr;     // (B, L, 3, H, d)
  const float* y = nullptr;       // (B, L, H, d)
  const float* grad_y = nullptr;  // (B, L, H, d)
  const float* lse = nullptr;     // (B, H, L)
  float* grad_qkv = nullptr;      // (B, L, 3, H, d)
  AttentionDropout dropout;       // the forward's
};

}  // namespace ssmkit::kernels
