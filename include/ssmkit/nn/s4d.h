// S4D (Gu et al. 2022, "On the Parameterization and Initialization of Diagonal State Space
// Models"): a diagonal complex SSM per channel, discretised with zero-order hold, whose length-L
// convolution (the S4 repository's standalone S4D builds its kernel by a Vandermonde product and
// applies it by FFT) runs here as the recurrence it stands for (ops::s4d_scan, no (H, N/2, L) or
// (B, H, 2L) tensors); then D skip, GELU, channel dropout and a GLU output projection. The
// Vandermonde kernel and the FFT path stay as kernel() and forward_by_fft(), the reference the
// tests hold the recurrence to. Layout: (B, L, H), as every block in ssmkit::nn.
//
// Bidirectional: a second kernel runs over the reversed sequence and its output is added, so step
// t sees u[t..L) through it. Its tap 0 reaches u[t] itself, as the S4 repository's comment on its
// own (off-by-one, u[t+1..L)) bidirectional convolution says the exact form should.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "ssmkit/ops/s4d_ssm.h"

namespace ssmkit::nn {

struct S4DOptions {
  int64_t d_model = 0;    // H, channels (required)
  int64_t d_state = 64;   // N real state dimensions = N / 2 complex-conjugate modes (even)
  double dt_min = 0.001;  // dt at init is log-uniform in [dt_min, dt_max]
  double dt_max = 0.1;
  double dropout = 0.0;        // after the GELU, whole channels (ops::channel_dropout)
  bool bidirectional = false;  // add a second kernel run over the reversed sequence

  int64_t n_modes() const { return d_state / 2; }
  void validate() const;  // throws InputError naming the first invalid field
};

// JSON form, strict as for MambaOptions: {"d_model": 64, "d_state": 64, "bidirectional": true}.
void to_json(nlohmann::json& j, const S4DOptions& options);
void from_json(const nlohmann::json& j, S4DOptions& options);

// The block around an S4D layer in S4Model: residual + channel_dropout(S4D(x), dropout). Given to
// S4D::forward, its channel dropout and add run inside the GLU's kernel.
struct S4DResidual {
  at::Tensor residual;  // (B, L, H); undefined: none
  double dropout = 0.0;
};

class S4DImpl : public torch::nn::Module {
 public:
  explicit S4DImpl(const S4DOptions& options);

  at::Tensor forward(const at::Tensor& x,  // (B, L, H) -> (B, L, H)
                     const S4DResidual& block = {});
  // The same layer with the convolution by the Vandermonde kernel and the FFT (the S4
  // repository's way): the reference for forward().
  at::Tensor forward_by_fft(const at::Tensor& x,  // (B, L, H) -> (B, L, H)
                            const S4DResidual& block = {});

  // The discretised SSM of every direction and channel (rows d * H + h): the decay exp(dt A_n)
  // per step and the output weight 2 C_n (exp(dt A_n) - 1) / A_n of each mode (B folded in).
  using Discretized = ops::S4DDiscretization;  // (directions * H, N/2) complex each
  Discretized discretize();

  // The convolution kernels for length L: K[l] = Re(sum_n weight_n decay_n^l) =
  // 2 Re(sum_n C'_n exp(dt A_n l)) with C'_n = C_n (exp(dt A_n) - 1) / A_n. Index 0 is the forward
  // kernel, 1 the backward one.
  at::Tensor kernel(int64_t length);  // -> (directions, H, L)

  // The SSM's own parameters (log_dt, log_A_real, A_imag), which S4 trains with a smaller learning
  // rate (about 1e-3) and no weight decay; put them in their own optimizer group.
  std::vector<at::Tensor> ssm_parameters() const { return {log_dt, log_A_real, A_imag}; }

  int64_t directions() const { return options_.bidirectional ? 2 : 1; }
  const S4DOptions& options() const { return options_; }

  // Kernel parameters, one set per direction and channel (rows d * H + h).
  at::Tensor log_dt;      // (directions * H)
  at::Tensor log_A_real;  // (directions * H, N/2), Re(A) = -exp(log_A_real), S4D-Lin: -1/2
  at::Tensor A_imag;      // (directions * H, N/2), Im(A), S4D-Lin: pi * n
  at::Tensor C;           // (directions * H, N/2, 2) complex C stored as (real, imag)
  at::Tensor D;           // (H) skip connection
  torch::nn::Linear output_linear{nullptr};  // H -> 2H, then GLU: a 1x1 conv in (B, L, H) layout

 private:
  // GELU, channel dropout, the GLU projection, and the block's dropout and residual.
  at::Tensor output_stage(const at::Tensor& x,        // (B, L, H), for the shape trace
                          const at::Tensor& ssm_out,  // (B, L, H) -> (B, L, H)
                          const S4DResidual& block);

  S4DOptions options_;
};
TORCH_MODULE(S4D);

}  // namespace ssmkit::nn
