// Parameters of the CUDA S4D scan kernels (s4d_scan.cu), free of LibTorch: float32 arrays,
// contiguous. See ops/s4d_scan.h for the recurrence they run and ops/s4d_ssm.h for the
// discretisation they can do themselves.
#pragma once

#include <cstdint>

namespace ssmkit::kernels {

// Most complex modes per channel the kernels take: 32 lanes of a warp, 8 modes each.
constexpr int64_t kS4DScanMaxModes = 256;

// The SSM comes either discretised (decay_re, ...) or as S4D's parameters (log_dt != nullptr),
// which the kernels discretise by the zero-order hold of nn::S4D: decay = exp(dt A),
// weight = 2 C (decay - 1) / A with dt = exp(log_dt) and A = -exp(log_A_real) + i A_imag.
struct S4DScanParams {
  int64_t batch = 0;                  // B
  int64_t length = 0;                 // L
  int64_t channels = 0;               // H
  int64_t modes = 0;                  // M
  int directions = 1;                 // 1 or 2
  int modes_per_lane = 0;             // K: 4 or 8 forces it for M > 4; 0 picks (8)
  const float* u = nullptr;           // (B, L, H)
  const float* decay_re = nullptr;    // (directions, M, H)
  const float* decay_im = nullptr;    // (directions, M, H)
  const float* weight_re = nullptr;   // (directions, M, H)
  const float* weight_im = nullptr;   // (directions, M, H)
  const float* log_dt = nullptr;      // (directions * H)
  const float* log_A_real = nullptr;  // (directions * H, M)
  const float* A_imag = nullptr;      // (directions * H, M)
  const float* C = nullptr;           // (directions * H, M, 2), real and imaginary parts
  const float* skip = nullptr;        // (H)
  float* y = nullptr;                 // (B, L, H), forward only
};

// The gradients of the discretised SSM per batch row b, direction d, mode n and channel h are
// written at grad_<part>[b * grad_row_stride + d * grad_direction_stride + n * grad_mode_stride +
// h * grad_channel_stride], every one of them; the skip's at grad_skip[b * grad_skip_row_stride
// + h]. The caller sums over b.
struct S4DScanBwdParams : S4DScanParams {
  const float* grad_y = nullptr;  // (B, L, H)
  float* grad_u = nullptr;        // (B, L, H)
  float* grad_decay_re = nullptr;
  float* grad_decay_im = nullptr;
  float* grad_weight_re = nullptr;
  float* grad_weight_im = nullptr;
  int64_t grad_row_stride = 0;
  int64_t grad_direction_stride = 0;
  int64_t grad_mode_stride = 0;
  int64_t grad_channel_stride = 0;
  float* grad_skip = nullptr;
  int64_t grad_skip_row_stride = 0;
};

// The chain rule from the discretised SSM's gradients (summed over the batch, directions * H rows
// of M modes, laid out as the parameters) to S4D's parameters.
struct S4DDiscretizationBwdParams {
  int64_t rows = 0;                       // directions * H
  int64_t modes = 0;                      // M
  const float* log_dt = nullptr;          // (rows)
  const float* log_A_real = nullptr;      // (rows, M)
  const float* A_imag = nullptr;          // (rows, M)
  const float* C = nullptr;               // (rows, M, 2)
  const float* grad_decay_re = nullptr;   // (rows, M)
  const float* grad_decay_im = nullptr;   // (rows, M)
  const float* grad_weight_re = nullptr;  // (rows, M)
  const float* grad_weight_im = nullptr;  // (rows, M)
  float* grad_log_dt = nullptr;           // (rows)
  float* grad_log_A_real = nullptr;       // (rows, M)
  float* grad_A_imag = nullptr;           // (rows, M)
  float* grad_C = nullptr;                // (rows, M, 2)
};

}  // namespace ssmkit::kernels
