// The selective scan of Mamba (S6): for each batch b, channel d and state n,
//   x[t] = exp(delta[t] * A) * x[t-1] + delta[t] * B[t] * u[t],   y[t] = <C[t], x[t]> + D * u[t],
// then y *= silu(z). One contract, three implementations: a plain-LibTorch reference (the oracle),
// a fast CPU path with its own backward, and a CUDA kernel; `selective_scan` picks by device.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ssmkit::ops {

// Inputs in Mamba's layout. Optional tensors are left undefined (default-constructed).
struct SelectiveScanInputs {
  at::Tensor u;              // (B, D, L)
  at::Tensor delta;          // (B, D, L)
  at::Tensor A;              // (D, N) real, usually negative
  at::Tensor B;              // (D, N) fixed, or (B, N, L) / (B, G, N, L) input-dependent
  at::Tensor C;              // (D, N) fixed, or (B, N, L) / (B, G, N, L) input-dependent
  at::Tensor D;              // (D) skip connection, optional
  at::Tensor z;              // (B, D, L) gate, optional: y *= silu(z)
  at::Tensor delta_bias;     // (D) added to delta before softplus, optional
  at::Tensor initial_state;  // (B, D, N) state before t = 0, optional (zeros)
};

struct SelectiveScanOptions {
  bool delta_softplus = false;     // delta <- softplus(delta + delta_bias)
  bool return_last_state = false;  // also return x[L-1]
};

struct SelectiveScanOutputs {
  at::Tensor y;           // (B, D, L), dtype of u
  at::Tensor last_state;  // (B, D, N), float32 (float64 for float64 inputs); undefined unless asked
};

// How B and C vary: fixed per channel, per (batch, time), or per (batch, group, time).
enum class ScanParamLayout { kFixed, kVariable, kGrouped };

// The dimensions of a validated call. Channel d reads group d / (D / G) of grouped B and C.
struct SelectiveScanShape {
  int64_t batch = 0;    // B
  int64_t dim = 0;      // D
  int64_t seqlen = 0;   // L
  int64_t dstate = 0;   // N
  int64_t n_groups = 1;  // G (1 unless B or C is grouped)
  ScanParamLayout b_layout = ScanParamLayout::kFixed;
  ScanParamLayout c_layout = ScanParamLayout::kFixed;
};

// Largest state size every implementation supports.
constexpr int64_t kMaxScanStateDim = 256;

// Checks ranks, shapes, dtypes and devices of every input; throws c10::Error with a message naming
// the tensor, its shape and the expected shape. `fn` prefixes the message.
SelectiveScanShape check_selective_scan_inputs(const SelectiveScanInputs& in, const char* fn);

// Which implementation to run. kAuto: CUDA tensors -> CUDA kernel, CPU tensors -> fast CPU path.
enum class ScanBackend { kAuto, kReference, kCpu, kCuda };

// Differentiable selective scan (gradients for u, delta, A, B, C, D, z, delta_bias, initial_state).
SelectiveScanOutputs selective_scan(const SelectiveScanInputs& in,
                                    const SelectiveScanOptions& options = {},
                                    ScanBackend backend = ScanBackend::kAuto);

// The oracle: plain LibTorch ops, sequential over L, computed in float32 (float64 for float64 u);
// differentiable through LibTorch autograd. Slow; for tests and benchmarks.
SelectiveScanOutputs selective_scan_reference(const SelectiveScanInputs& in,
                                              const SelectiveScanOptions& options = {});

// True when this build has the CUDA kernel.
bool selective_scan_has_cuda();

}  // namespace ssmkit::ops
