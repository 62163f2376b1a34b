// The torch-free interface between the CPU multi-head attention (src/ops/attention_cpu.cpp:
// tensors, threads, autograd) and its loops (attention_cpu_kernel_impl.h), which are compiled
// once per instruction set and picked at run time. float32, the queries, keys and values packed
// as one projection's output (B, L, 3, H, d), as the CUDA kernels take them.
#pragma once

#include <stdint.h>

#include <vector>

#include "attention/attention_params.h"

namespace ssmkit::kernels_cpu {

// Dropout on the attention weights as a mask drawn beforehand: the forward and the backward read
// the same bytes, so nothing has to be redrawn.
struct AttentionCpuDropout {
  const uint8_t* keep = nullptr;  // (B, H, L, L): 1 keeps weight (i, j), 0 drops it; null: none
  float keep_scale = 1.0f;        // 1 / (1 - p)
};

struct AttentionCpuForward {
  kernels::AttentionShape shape;
  const float* qkv = nullptr;  // (B, L, 3, H, d)
  float* y = nullptr;          // (B, L, H, d)
  float* lse = nullptr;        // (B, H, L): log of each softmax row's normaliser
  AttentionCpuDropout dropout;
};

struct AttentionCpuBackward {
  kernels::AttentionShape shape;
  const float* qkv = nullptr;     // (B, L, 3, H, d)
  const float* y = nullptr;       // (B, L, H, d)
  const float* grad_y = nullptr;  // (B, L, H, d)
  const float* lse = nullptr;     // (B, H, L), the forward's
  float* grad_qkv = nullptr;      // (B, L, 3, H, d): every element written
  AttentionCpuDropout dropout;    // the forward's
};

// Widest head the kernels take (their per-row buffers live on the stack).
constexpr int64_t kAttentionCpuMaxHeadDim = 256;

// Floats of scratch a task needs: one head's rows, columns and score rows, whatever the build.
int64_t attention_cpu_scratch_floats(const kernels::AttentionShape& shape);

// Each runs the (batch, head) pairs [begin, end) of the B * H, one after the other, in `scratch`.
using AttentionCpuForwardFn = void (*)(const AttentionCpuForward& p, int64_t begin, int64_t end,
                                       float* scratch);
using AttentionCpuBackwardFn = void (*)(const AttentionCpuBackward& p, int64_t begin, int64_t end,
                                        float* scratch);

struct AttentionCpuKernels {
  const char* isa;
  AttentionCpuForwardFn forward;
  AttentionCpuBackwardFn backward;
};

extern const AttentionCpuKernels kAttentionGenericKernels;
extern const AttentionCpuKernels kAttentionAvx2Kernels;
extern const AttentionCpuKernels kAttentionAvx512Kernels;

// The sets this CPU runs, fastest first.
std::vector<const AttentionCpuKernels*> runnable_attention_kernels();

}  // namespace ssmkit::kernels_cpu
