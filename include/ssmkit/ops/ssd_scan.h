// The SSD scan of Mamba-2 (Dao & Gu 2024): a selective scan whose decay is one scalar per head,
//   h[t] = exp(dt[t] * A) h[t-1] + dt[t] * x[t] B[t]^T,   y[t] = h[t] C[t],
// in two forms with one contract: the chunked matrix form (training; matmuls that the GPU runs on
// its matrix units) and the plain sequential recurrence (the oracle for tests and benchmarks).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ssmkit::ops {

// Mamba-2's default chunk length.
constexpr int64_t kDefaultSsdChunkSize = 64;

struct SsdScanOutputs {
  at::Tensor y;            // (B, L, H, P), dtype of x
  at::Tensor final_state;  // (B, H, P, N) state after the last token, float32 (float64 for a
                           // float64 x)
};

// Both forms take the same arguments; head h reads group h / (H / G) of B and C. The scan runs in
// float32 for half-precision x (float64 for float64 x); dt, A, B, C and initial_state are cast to
// that precision. Every input is differentiable through LibTorch autograd. Shapes, dtypes and
// devices are checked; a bad argument throws c10::Error naming the tensor and the expected shape.

// The chunked form: within each chunk of `chunk_size` tokens the output is a masked, decayed
// (C B^T) matrix times x; chunks are joined by passing the state. L need not be a multiple of
// chunk_size (the last chunk is padded with dt = 0, which leaves the state unchanged).
SsdScanOutputs ssd_chunk_scan(const at::Tensor& x,   // (B, L, H, P)
                              const at::Tensor& dt,  // (B, L, H), > 0
                              const at::Tensor& A,   // (H), < 0
                              const at::Tensor& B,   // (B, L, G, N)
                              const at::Tensor& C,   // (B, L, G, N)
                              int64_t chunk_size = kDefaultSsdChunkSize,
                              const at::Tensor& initial_state = {});  // (B, H, P, N) or undefined

// The sequential recurrence, one token at a time in plain LibTorch ops. Slow; the reference.
SsdScanOutputs ssd_scan_reference(
    const at::Tensor& x,                    // (B, L, H, P)
    const at::Tensor& dt,                   // (B, L, H)
    const at::Tensor& A,                    // (H)
    const at::Tensor& B,                    // (B, L, G, N)
    const at::Tensor& C,                    // (B, L, G, N)
    const at::Tensor& initial_state = {});  // (B, H, P, N) or undefined

}  // namespace ssmkit::ops
