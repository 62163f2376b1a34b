// The torch-free interface between the CPU S4D scan (ops/s4d_scan.cpp: tensors, threads,
// autograd) and its loops (s4d_scan_cpu_kernel_impl.h), which are compiled once per instruction
// set and picked at run time, as the selective scan's are.
//
// S4D's convolution y = K * u with K[l] = Re(sum_n w_n decay_n^l) is the diagonal recurrence it
// came from: per batch b, channel h, direction d and complex mode n,
//   s[t] = decay[d, n, h] * s[t - 1] + u[b, t, h]      (t in the direction's order: forward, or
//                                                       backward from L - 1 for direction 1)
//   y[b, t, h] = skip[h] * u[b, t, h] + sum_{d, n} Re(weight[d, n, h] * s[t]).
// Run as a recurrence it costs O(B L H M) with nothing of size (H, M, L) or (B, H, 2L)
// materialised, where the Vandermonde kernel and the FFT convolution are bound by memory.
#pragma once

#include <cstdint>
#include <vector>

namespace ssmkit::ops::s4d_cpu {

// Channels one task covers: the loops run over channels in vectors (contiguous in (B, L, H)), so a
// task is one batch row and this many channels (fewer in the last block).
constexpr int64_t kChannelBlock = 16;

// The parameters are split into real and imaginary parts in (directions, M, H) layout, so that a
// mode's values for consecutive channels are one vector.
template <typename T>
struct S4DScanProblem {
  int64_t batch = 0;             // B
  int64_t length = 0;            // L
  int64_t channels = 0;          // H
  int64_t modes = 0;             // M, complex modes per channel
  int64_t directions = 1;        // 1, or 2 with a backward-in-time recurrence added
  const T* u = nullptr;          // (B, L, H)
  const T* decay_re = nullptr;   // (directions, M, H)
  const T* decay_im = nullptr;   // (directions, M, H)
  const T* weight_re = nullptr;  // (directions, M, H)
  const T* weight_im = nullptr;  // (directions, M, H)
  const T* skip = nullptr;       // (H), D
};

// The backward pass's seed and outputs. The parameter gradients are per batch row (each task
// writes its rows in full); the caller sums them over the batch.
template <typename T>
struct S4DScanGradients {
  const T* grad_y = nullptr;    // (B, L, H)
  T* grad_u = nullptr;          // (B, L, H)
  T* grad_decay_re = nullptr;   // (B, directions, M, H)
  T* grad_decay_im = nullptr;   // (B, directions, M, H)
  T* grad_weight_re = nullptr;  // (B, directions, M, H)
  T* grad_weight_im = nullptr;  // (B, directions, M, H)
  T* grad_skip = nullptr;       // (B, H)
};

// Values of scratch memory one call needs: the states and sums of one channel block, and room to
// align them to a vector.
inline int64_t scratch_size(int64_t modes) {
  return 8 * modes * kChannelBlock + kChannelBlock;
}

// The loops over tasks [begin, end): task i is batch row i / blocks, channels from
// (i % blocks) * kChannelBlock, with blocks = ceil(H / kChannelBlock).
template <typename T>
using ForwardFn = void (*)(const S4DScanProblem<T>& problem, T* y, int64_t begin, int64_t end,
                           T* scratch);
template <typename T>
using BackwardFn = void (*)(const S4DScanProblem<T>& problem, const S4DScanGradients<T>& grads,
                            int64_t begin, int64_t end, T* scratch);

struct KernelSet {
  const char* isa;
  ForwardFn<float> forward_f32;
  ForwardFn<double> forward_f64;
  BackwardFn<float> backward_f32;
  BackwardFn<double> backward_f64;
};

extern const KernelSet kGenericKernels;
extern const KernelSet kAvx2Kernels;
extern const KernelSet kAvx512Kernels;

// The fastest set this CPU runs.
const KernelSet& best_kernels();

}  // namespace ssmkit::ops::s4d_cpu
