// The forward and backward passes of the fast CPU selective scan on tensors: convert the inputs for
// the loops, split the (batch, channel) pairs over threads, sum the per-task gradient buffers.
#pragma once

#include <ATen/core/Tensor.h>

#include "selective_scan_cpu_kernel.h"
#include "ssmkit/ops/selective_scan.h"

namespace ssmkit::ops::scan_cpu {

// Results of the forward pass in the compute dtype (float32, float64 for float64 u).
struct ForwardPass {
  at::Tensor y;            // (B, D, L)
  at::Tensor last_state;   // (B, D, N)
  at::Tensor checkpoints;  // (B, D, ceil(L / kChunkLength), Np), undefined unless kept
};

// Runs the scan on validated inputs; keeps the checkpoints the backward pass needs when asked.
ForwardPass run_forward(const KernelSet& kernels, const SelectiveScanInputs& in,
                        const SelectiveScanShape& shape, bool delta_softplus,
                        bool keep_checkpoints);

// Gradients of every input in the compute dtype and the input's layout; undefined for absent
// optional inputs.
struct BackwardPass {
  at::Tensor du;              // (B, D, L)
  at::Tensor ddelta;          // (B, D, L)
  at::Tensor dA;              // (D, N)
  at::Tensor dB;              // layout of B
  at::Tensor dC;              // layout of C
  at::Tensor dD;              // (D)
  at::Tensor dz;              // (B, D, L)
  at::Tensor ddelta_bias;     // (D)
  at::Tensor dinitial_state;  // (B, D, N)
};

// The backward pass from the gradients of y and of the last state (either may be undefined: zero)
// and the checkpoints of run_forward on the same inputs.
BackwardPass run_backward(const KernelSet& kernels, const SelectiveScanInputs& in,
                          const SelectiveScanShape& shape, bool delta_softplus,
                          const at::Tensor& grad_y,           // (B, D, L)
                          const at::Tensor& grad_last_state,  // (B, D, N)
                          const at::Tensor& checkpoints);     // (B, D, chunks, Np)

}  // namespace ssmkit::ops::scan_cpu
