// S4D: S4D-Lin initialisation, the discretised SSM, its convolution as a recurrence (or by the
// Vandermonde kernel and the FFT), and the output stage.
#include "ssmkit/nn/s4d.h"

#include <torch/torch.h>

#include <cmath>
#include <string>

#include "ssmkit/io/error.h"
#include "ssmkit/ops/channel_scaled_activations.h"
#include "ssmkit/ops/dropout.h"
#include "ssmkit/ops/fft_conv.h"
#include "ssmkit/ops/linear.h"
#include "ssmkit/ops/s4d_ssm.h"
#include "ssmkit/util/checks.h"
#include "ssmkit/util/json_fields.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::nn {
namespace {

// S4D-Lin: Re(A) = -1/2 for every mode.
constexpr double kInitialARealMagnitude = 0.5;
// torch.randn(..., dtype=cfloat) draws real and imaginary parts with variance 1/2 each.
constexpr double kComplexNormalComponentStd = 0.70710678118654752;
constexpr double kPi = 3.14159265358979323846;

}  // namespace

void S4DOptions::validate() const {
  if (d_model <= 0) invalid_option("S4D", "d_model", "> 0", std::to_string(d_model));
  if (d_state < 2 || d_state % 2 != 0) {
    invalid_option("S4D", "d_state", "even and >= 2 (N/2 complex-conjugate modes)",
                   std::to_string(d_state));
  }
  if (!(dt_min > 0.0)) invalid_option("S4D", "dt_min", "> 0", std::to_string(dt_min));
  if (!(dt_max >= dt_min)) invalid_option("S4D", "dt_max", ">= dt_min", std::to_string(dt_max));
  if (!(dropout >= 0.0 && dropout < 1.0))
    invalid_option("S4D", "dropout", "in [0, 1)", std::to_string(dropout));
}

void to_json(nlohmann::json& j, const S4DOptions& o) {
  j = nlohmann::json{{"d_model", o.d_model}, {"d_state", o.d_state},
                     {"dt_min", o.dt_min},   {"dt_max", o.dt_max},
                     {"dropout", o.dropout}, {"bidirectional", o.bidirectional}};
}

void from_json(const nlohmann::json& j, S4DOptions& o) {
  JsonFieldReader reader(j, "S4D config");
  reader.read("d_model", o.d_model);
  reader.read("d_state", o.d_state);
  reader.read("dt_min", o.dt_min);
  reader.read("dt_max", o.dt_max);
  reader.read("dropout", o.dropout);
  reader.read("bidirectional", o.bidirectional);
  reader.finish();
  o.validate();
}

S4DImpl::S4DImpl(const S4DOptions& options) : options_(options) {
  options_.validate();
  const int64_t h = options_.d_model;
  const int64_t rows = directions() * h;
  const int64_t modes = options_.n_modes();

  const double log_min = std::log(options_.dt_min);
  const double log_max = std::log(options_.dt_max);
  log_dt = register_parameter("log_dt", torch::rand({rows}) * (log_max - log_min) + log_min);
  log_A_real = register_parameter("log_A_real",
                                  torch::full({rows, modes}, std::log(kInitialARealMagnitude)));
  A_imag = register_parameter(
      "A_imag", (kPi * torch::arange(modes, torch::kFloat)).repeat({rows, 1}).contiguous());
  C = register_parameter("C", torch::randn({rows, modes, 2}) * kComplexNormalComponentStd);
  D = register_parameter("D", torch::randn({h}));
  output_linear = register_module("output_linear", torch::nn::Linear(h, 2 * h));
}

S4DImpl::Discretized S4DImpl::discretize() {
  return ops::s4d_discretize(log_dt, log_A_real, A_imag, C);
}

at::Tensor S4DImpl::kernel(int64_t length) {
  TORCH_CHECK(length >= 1, "S4D::kernel: length must be >= 1, got ", length);
  const Discretized z = discretize();
  at::Tensor steps = torch::arange(length, log_dt.options());                 // (L)
  at::Tensor vandermonde = torch::exp(z.dt_A.unsqueeze(-1) * steps);          // (R, N/2, L)
  at::Tensor k = torch::real((z.weight.unsqueeze(-1) * vandermonde).sum(1));  // (R, L)
  return k.view({directions(), options_.d_model, length});
}

at::Tensor S4DImpl::forward(const at::Tensor& x, const S4DResidual& block) {
  constexpr const char* fn = "S4D";
  check_shape(x, fn, "x", "(B, L, H)", {-1, -1, options_.d_model});
  TORCH_CHECK(x.size(1) >= 1, fn, ": 'x' has shape ", shape_string(x.sizes()), ", expected L >= 1");
  check_same_device(x, D, fn, "x", "the layer's parameters");
  TORCH_CHECK(x.scalar_type() == D.scalar_type(), fn, ": 'x' has dtype ",
              c10::toString(x.scalar_type()), ", expected the parameters' dtype (",
              c10::toString(D.scalar_type()), ")");

  // The convolution with kernel(L) (and the reversed one) plus the D skip, run as the diagonal
  // recurrence: ops/s4d_ssm.h. forward_by_fft() is the same by the FFT.
  return output_stage(x, ops::s4d_ssm(x, log_dt, log_A_real, A_imag, C, D), block);
}

at::Tensor S4DImpl::forward_by_fft(const at::Tensor& x, const S4DResidual& block) {
  at::Tensor u = x.transpose(1, 2);  // (B, H, L)
  at::Tensor k = kernel(x.size(1));  // (directions, H, L)
  at::Tensor y = ops::fft_causal_conv(u, k[0]);
  if (options_.bidirectional) y = y + ops::fft_causal_conv(u.flip(2), k[1]).flip(2);
  // Contiguous (B, L, H), as the recurrence gives it.
  y = (y + u * D.unsqueeze(-1)).transpose(1, 2).contiguous();
  return output_stage(x, y, block);
}

at::Tensor S4DImpl::output_stage(const at::Tensor& x, const at::Tensor& ssm_out,
                                 const S4DResidual& block) {
  const bool training = is_training();
  at::Tensor y = ops::gelu_channel_scaled(
      ssm_out, ops::channel_dropout_scale(ssm_out, options_.dropout, training));
  const at::Tensor lin = ops::linear(y, output_linear->weight, output_linear->bias);  // (B, L, 2H)
  y = ops::glu_channel_scaled(lin, ops::channel_dropout_scale(y, block.dropout, training),
                              block.residual);
  trace_shapes("S4D", x, y);
  return y;
}

}  // namespace ssmkit::nn
