// ops::s4d_ssm on the CPU: the recurrence of the discretised SSM equals the S4 repository's
// convolution with the Vandermonde kernel in float64 (output and the parameters' gradients),
// and the argument checks. The CUDA kernels that discretise by themselves are held to this in
// tests/gpu/test_s4d_scan_cuda.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "ssmkit/ops/fft_conv.h"
#include "ssmkit/ops/s4d_ssm.h"
#include "test_helpers.h"

namespace ssmkit::testing {
namespace {

using ::testing::HasSubstr;

struct SsmParameters {
  at::Tensor log_dt, log_A_real, A_imag, C, D;
  std::vector<at::Tensor> all() const { return {log_dt, log_A_real, A_imag, C, D}; }
};

SsmParameters random_parameters(int64_t rows, int64_t channels, int64_t modes) {
  const auto f64 = torch::kDouble;
  return {std::log(0.001) + std::log(100.0) * torch::rand({rows}, f64),
          std::log(0.5) + 0.3 * torch::randn({rows, modes}, f64),
          3.141592653589793 * torch::arange(modes, f64) + 0.2 * torch::randn({rows, modes}, f64),
          0.7 * torch::randn({rows, modes, 2}, f64), torch::randn({channels}, f64)};
}

// The S4 repository's causal convolution: K[h, l] = Re(sum_n weight decay^l) by the FFT.
at::Tensor convolution_reference(const at::Tensor& u, const SsmParameters& p) {
  const ops::S4DDiscretization z = ops::s4d_discretize(p.log_dt, p.log_A_real, p.A_imag, p.C);
  const at::Tensor steps = torch::arange(u.size(1), torch::kDouble);
  const at::Tensor k = torch::real(
      (z.weight.unsqueeze(-1) * torch::exp(z.dt_A.unsqueeze(-1) * steps)).sum(1));  // (H, L)
  const at::Tensor x = u.transpose(1, 2);                                           // (B, H, L)
  return (ops::fft_causal_conv(x, k) + x * p.D.unsqueeze(-1)).transpose(1, 2);
}

TEST(S4DSsm, MatchesTheVandermondeConvolutionInFloat64) {
  torch::manual_seed(0);
  const int64_t batch = 2, length = 90, channels = 5, modes = 7;
  const at::Tensor u = torch::randn({batch, length, channels}, torch::kDouble);
  const SsmParameters p = random_parameters(channels, channels, modes);
  std::vector<at::Tensor> leaves, reference_leaves;
  for (const at::Tensor& t : p.all()) {
    leaves.push_back(t.clone().requires_grad_(true));
    reference_leaves.push_back(t.clone().requires_grad_(true));
  }
  const at::Tensor y = ops::s4d_ssm(u, leaves[0], leaves[1], leaves[2], leaves[3], leaves[4]);
  const at::Tensor expected =
      convolution_reference(u, {reference_leaves[0], reference_leaves[1], reference_leaves[2],
                                reference_leaves[3], reference_leaves[4]});
  EXPECT_LT(relative_error(y, expected), 1e-10);
  const at::Tensor seed = torch::randn_like(y);
  const auto grads = torch::autograd::grad({y}, leaves, {seed});
  const auto expected_grads = torch::autograd::grad({expected}, reference_leaves, {seed});
  const char* names[] = {"log_dt", "log_A_real", "A_imag", "C", "D"};
  for (size_t i = 0; i < grads.size(); ++i)
    EXPECT_LT(relative_error(grads[i], expected_grads[i]), 1e-9) << names[i];
}

TEST(S4DSsm, TwoRowsPerChannelAddTheAntiCausalDirection) {
  torch::manual_seed(1);
  const int64_t channels = 3, modes = 4;
  const at::Tensor u = torch::randn({2, 20, channels}, torch::kDouble);
  const SsmParameters p = random_parameters(2 * channels, channels, modes);
  const at::Tensor y = ops::s4d_ssm(u, p.log_dt, p.log_A_real, p.A_imag, p.C, p.D);
  const auto rows = [&](int64_t d) {
    return SsmParameters{p.log_dt.narrow(0, d * channels, channels),
                         p.log_A_real.narrow(0, d * channels, channels),
                         p.A_imag.narrow(0, d * channels, channels),
                         p.C.narrow(0, d * channels, channels), torch::zeros_like(p.D)};
  };
  SsmParameters causal = rows(0);
  causal.D = p.D;
  const at::Tensor expected =
      convolution_reference(u, causal) + convolution_reference(u.flip(1), rows(1)).flip(1);
  EXPECT_LT(relative_error(y, expected), 1e-10);
}

TEST(S4DSsm, NamesTheArgumentWhoseShapeIsWrong) {
  const at::Tensor u = torch::randn({2, 8, 4});
  const SsmParameters p = random_parameters(4, 4, 3);
  EXPECT_THAT([&] { ops::s4d_ssm(u, p.log_dt, p.log_A_real.narrow(0, 0, 3), p.A_imag, p.C, p.D); },
              ::testing::ThrowsMessage<c10::Error>(
                  HasSubstr("s4d_ssm: 'log_A_real' has 3 rows, expected H (4) or 2 H")));
  EXPECT_THAT([&] { ops::s4d_ssm(u, p.log_dt, p.log_A_real, p.A_imag, p.C.narrow(2, 0, 1), p.D); },
              ::testing::ThrowsMessage<c10::Error>(HasSubstr("s4d_ssm: 'C' has shape")));
  EXPECT_THAT([&] { ops::s4d_ssm(u, p.log_dt, p.log_A_real, p.A_imag, p.C, p.D.narrow(0, 0, 2)); },
              ::testing::ThrowsMessage<c10::Error>(HasSubstr("s4d_ssm: 'D' has shape")));
}

}  // namespace
}  // namespace ssmkit::testing
