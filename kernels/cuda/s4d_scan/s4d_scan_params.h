// Parameters of the CUDA S4D scan kernels (s4d_scan.cu), free of LibTorch: float32 arrays,
// contiguous, the SSM parameters in (directions, M, H) layout. See ops/s4d_scan.h for the
// recurrence they run.
#pragma once

#include <cstdint>

namespace ssmkit::kernels {

// Most complex modes per channel the kernels take: 32 lanes of a warp, 8 modes each.
constexpr int64_t kS4DScanMaxModes = 256;

struct S4DScanParams {
  int64_t batch = 0;                 // B
  int64_t length = 0;                // L
  int64_t channels = 0;              // H
  int64_t modes = 0;                 // M
  int directions = 1;                // 1 or 2
  const float* u = nullptr;          // (B, L, H)
  const float* decay_re = nullptr;   // (directions, M, H)
  const float* decay_im = nullptr;   // (directions, M, H)
  const float* weight_re = nullptr;  // (directions, M, H)
  const float* weight_im = nullptr;  // (directions, M, H)
  const float* skip = nullptr;       // (H)
  float* y = nullptr;                // (B, L, H), forward only
};

struct S4DScanBwdParams : S4DScanParams {
  const float* grad_y = nullptr;    // (B, L, H)
  float* grad_u = nullptr;          // (B, L, H)
  float* grad_decay_re = nullptr;   // (B, directions, M, H), one row per batch element
  float* grad_decay_im = nullptr;   // (B, directions, M, H)
  float* grad_weight_re = nullptr;  // (B, directions, M, H)
  float* grad_weight_im = nullptr;  // (B, directions, M, H)
  float* grad_skip = nullptr;       // (B, H)
};

}  // namespace ssmkit::kernels
