// The torch-free interface between the fast CPU selective scan (selective_scan_cpu.cpp: tensors,
// threads, autograd) and its hot loops (selective_scan_cpu_kernel_impl.h), which are compiled once
// per instruction set and picked at run time.
#pragma once

#include <cstdint>
#include <vector>

namespace ssmkit::ops::scan_cpu {

// Time steps between the states the forward pass keeps for the backward pass: the backward
// recomputes each chunk from its first state, so memory is (B, D, L / kChunkLength, N) and the
// per-thread chunk buffers (2 * kChunkLength * N values) stay in L1/L2.
constexpr int64_t kChunkLength = 64;

// B or C (or the gradient of either) seen per (batch, channel): the row of channel d of batch b at
// time t starts at data + b * batch_stride + (d / channels_per_group) * group_stride
// + d * channel_stride + t * time_stride and holds padded_dstate values. A fixed (D, N) parameter
// has zero batch, group and time strides; a variable one zero channel stride.
template <typename T>
struct ParamRows {
  T* data = nullptr;
  int64_t batch_stride = 0;
  int64_t group_stride = 0;
  int64_t channel_stride = 0;
  int64_t time_stride = 0;
  int64_t first_batch = 0;  // batch index stored in the first row (task-private gradient buffers)

  T* channel(int64_t b, int64_t d, int64_t channels_per_group) const {
    return data + (b - first_batch) * batch_stride + (d / channels_per_group) * group_stride +
           d * channel_stride;
  }
};

// One call's inputs, converted to the compute type T (float or double), contiguous, with every
// per-state array padded with zeros to padded_dstate lanes.
template <typename T>
struct ScanProblem {
  int64_t batch = 0;               // B
  int64_t dim = 0;                 // D
  int64_t seqlen = 0;              // L
  int64_t dstate = 0;              // N
  int64_t padded_dstate = 0;       // N rounded up to the kernel set's state_block
  int64_t channels_per_group = 1;  // D / G (D for non-grouped parameters, any value works there)
  int64_t n_chunks = 0;            // ceil(L / kChunkLength)
  bool delta_softplus = false;
  const T* u = nullptr;              // (B, D, L)
  const T* delta = nullptr;          // (B, D, L)
  const T* A = nullptr;              // (D, Np)
  ParamRows<const T> B;              // (D, Np) | (B, L, Np) | (B, G, L, Np)
  ParamRows<const T> C;              // (D, Np) | (B, L, Np) | (B, G, L, Np)
  const T* D = nullptr;              // (D) or null
  const T* z = nullptr;              // (B, D, L) or null
  const T* delta_bias = nullptr;     // (D) or null
  const T* initial_state = nullptr;  // (B, D, N) or null (zeros)
};

// Where the forward pass writes. Every element of every non-null array is written.
template <typename T>
struct ForwardResults {
  T* y = nullptr;            // (B, D, L)
  T* last_state = nullptr;   // (B, D, N)
  T* checkpoints = nullptr;  // (B, D, n_chunks, Np): state before each chunk; null: not kept
};

// What the backward pass reads besides the problem.
template <typename T>
struct BackwardSeeds {
  const T* grad_y = nullptr;           // (B, D, L) or null (zero)
  const T* grad_last_state = nullptr;  // (B, D, N) or null (zero)
  const T* checkpoints = nullptr;      // (B, D, n_chunks, Np) from the forward pass
};

// Where the backward pass of one task writes. Per-(batch, channel) gradients are written in full
// for the task's channels; the others are accumulated (+=) into task-private buffers that the
// caller zeroes and later sums over tasks.
template <typename T>
struct BackwardResults {
  T* du = nullptr;              // (B, D, L)
  T* ddelta = nullptr;          // (B, D, L)
  T* dz = nullptr;              // (B, D, L), null when there is no z
  T* dinitial_state = nullptr;  // (B, D, N), null when not wanted
  T* dA = nullptr;              // (D, Np), accumulated
  T* dD = nullptr;              // (D), accumulated, null when there is no D
  T* ddelta_bias = nullptr;     // (D), accumulated, null when there is no delta_bias
  ParamRows<T> dB;              // layout of B (batch rows from first_batch), accumulated
  ParamRows<T> dC;              // layout of C (batch rows from first_batch), accumulated
};

// Values of scratch memory one backward task needs: the states and decays of one chunk.
inline int64_t backward_scratch_size(int64_t padded_dstate) {
  return 2 * padded_dstate * kChunkLength;
}

// The loops over the (batch * D + channel) range [begin, end).
template <typename T>
using ForwardFn = void (*)(const ScanProblem<T>& problem, const ForwardResults<T>& results,
                           int64_t begin, int64_t end);
template <typename T>
using BackwardFn = void (*)(const ScanProblem<T>& problem, const BackwardSeeds<T>& seeds,
                            const BackwardResults<T>& results, int64_t begin, int64_t end,
                            T* scratch);

// The loops compiled for one instruction set.
struct KernelSet {
  const char* isa;
  // Every per-state array is zero-padded to a multiple of this (whole vectors of float and of
  // double for the instruction set), so the inner loops over states have no remainder.
  int64_t state_block;
  ForwardFn<float> forward_f32;
  ForwardFn<double> forward_f64;
  BackwardFn<float> backward_f32;
  BackwardFn<double> backward_f64;
};

// The portable build (x86-64 baseline SSE2, or the target's default), and on x86-64 the AVX2+FMA
// and AVX-512 builds (never to be called unless the CPU has those instructions).
extern const KernelSet kGenericKernels;
extern const KernelSet kAvx2Kernels;
extern const KernelSet kAvx512Kernels;

// The sets this CPU runs, fastest first; the last is kGenericKernels.
std::vector<const KernelSet*> runnable_kernels();

}  // namespace ssmkit::ops::scan_cpu
