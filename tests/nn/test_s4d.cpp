// S4D: the layer (its convolution run as a recurrence) and the FFT-convolved Vandermonde kernel
// against the plain complex recurrence and each other in float64 (one- and bidirectional, with
// gradients), the S4D-Lin initialisation, the output stage, gradients and bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/nn/s4d.h"
#include "test_helpers.h"

namespace {

using ssmkit::nn::S4D;
using ssmkit::nn::S4DOptions;
using ssmkit::testing::relative_error;

constexpr double kTol = 1e-8;

S4DOptions small_options(bool bidirectional) {
  S4DOptions o;
  o.d_model = 4;
  o.d_state = 8;
  o.bidirectional = bidirectional;
  return o;
}

// x_t = A_bar x_{t-1} + B_bar u_t, y_t = 2 Re(C x_t), in complex128, for the kernel of `direction`.
at::Tensor recurrence(S4D& s4d, const at::Tensor& u /* (B, H, L) */, int64_t direction) {
  torch::NoGradGuard no_grad;
  const int64_t h = s4d->options().d_model;
  auto rows = [&](const at::Tensor& p) { return p.narrow(0, direction * h, h); };
  at::Tensor dt = torch::exp(rows(s4d->log_dt)).unsqueeze(-1);                           // (H, 1)
  at::Tensor A = torch::complex(-torch::exp(rows(s4d->log_A_real)), rows(s4d->A_imag));  // (H, M)
  at::Tensor A_bar = torch::exp(dt * A);
  at::Tensor B_bar = (A_bar - 1.0) / A;
  at::Tensor C = torch::view_as_complex(rows(s4d->C).contiguous());  // (H, M)
  at::Tensor x = torch::zeros({u.size(0), h, A.size(1)}, A.options());
  std::vector<at::Tensor> ys;
  for (int64_t t = 0; t < u.size(2); ++t) {
    x = A_bar * x + B_bar * u.select(2, t).unsqueeze(-1);
    ys.push_back(2.0 * torch::real((C * x).sum(-1)));
  }
  return torch::stack(ys, 2);  // (B, H, L)
}

// The layer's output given the SSM part `ssm` (B, H, L): D skip, GELU, GLU projection (eval mode).
at::Tensor output_stage(S4D& s4d, const at::Tensor& u, const at::Tensor& ssm) {
  at::Tensor y = torch::gelu(ssm + u * s4d->D.unsqueeze(-1)).transpose(1, 2);
  return torch::glu(s4d->output_linear(y), -1);
}

TEST(S4D, ShapesAndS4DLinInit) {
  S4DOptions o = small_options(false);
  S4D s4d(o);
  at::Tensor y = s4d(torch::randn({2, 11, 4}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 11, 4}));
  EXPECT_TRUE(torch::allclose(torch::exp(s4d->log_A_real), torch::full({4, 4}, 0.5)));
  EXPECT_TRUE(torch::allclose(s4d->A_imag.select(0, 2),
                              torch::arange(4, torch::kFloat) * 3.14159265358979323846));
  at::Tensor dt = torch::exp(s4d->log_dt);
  EXPECT_GE(dt.min().item<double>(), o.dt_min * (1 - 1e-6));
  EXPECT_LE(dt.max().item<double>(), o.dt_max * (1 + 1e-6));
  EXPECT_EQ(s4d->C.sizes(), (std::vector<int64_t>{4, 4, 2}));
  EXPECT_EQ(s4d->kernel(11).sizes(), (std::vector<int64_t>{1, 4, 11}));
}

TEST(S4D, FftConvolutionEqualsRecurrence) {
  S4D s4d(small_options(false));
  s4d->to(torch::kDouble);
  s4d->eval();
  // Larger dt makes the kernel decay slowly, so late taps matter.
  {
    torch::NoGradGuard g;
    s4d->log_dt.uniform_(std::log(0.01), std::log(0.5));
  }
  at::Tensor x = torch::randn({3, 37, 4}, torch::kDouble);
  at::Tensor u = x.transpose(1, 2);
  at::Tensor expected_ssm = recurrence(s4d, u, 0);
  at::Tensor k = s4d->kernel(37);
  // The kernel alone: the response to a unit impulse.
  at::Tensor impulse = torch::zeros({1, 4, 37}, torch::kDouble);
  impulse.select(2, 0).fill_(1.0);
  EXPECT_LT(relative_error(k[0], recurrence(s4d, impulse, 0)[0]), kTol);
  // The whole layer.
  EXPECT_LT(relative_error(s4d(x), output_stage(s4d, u, expected_ssm)), kTol);
}

TEST(S4D, BidirectionalAddsReversedKernel) {
  S4D s4d(small_options(true));
  s4d->to(torch::kDouble);
  s4d->eval();
  EXPECT_EQ(s4d->log_dt.size(0), 8);
  at::Tensor x = torch::randn({2, 19, 4}, torch::kDouble);
  at::Tensor u = x.transpose(1, 2);
  at::Tensor ssm = recurrence(s4d, u, 0) + recurrence(s4d, u.flip(2), 1).flip(2);
  EXPECT_LT(relative_error(s4d(x), output_stage(s4d, u, ssm)), kTol);
  // Output at t = 0 now depends on the last input.
  at::Tensor x2 = x.clone();
  x2.select(1, 18).add_(1.0);
  EXPECT_GT((s4d(x2).select(1, 0) - s4d(x).select(1, 0)).abs().max().item<double>(), 0.0);
}

// forward() runs the convolution as a recurrence (ops::s4d_scan); forward_by_fft() as the S4
// repository does. Outputs and the gradients of every parameter and of the input agree.
TEST(S4D, RecurrenceEqualsTheFftPathWithGradients) {
  for (bool bidirectional : {false, true}) {
    S4D s4d(small_options(bidirectional));
    s4d->to(torch::kDouble);
    s4d->eval();
    {
      torch::NoGradGuard g;
      s4d->log_dt.uniform_(std::log(0.01), std::log(0.5));
    }
    const at::Tensor x = torch::randn({3, 45, 4}, torch::dtype(torch::kDouble).requires_grad(true));
    const at::Tensor seed = torch::randn({3, 45, 4}, torch::kDouble);
    std::vector<at::Tensor> inputs = {x};
    for (const auto& p : s4d->parameters())
      inputs.push_back(p);
    const at::Tensor by_scan = s4d(x);
    const at::Tensor by_fft = s4d->forward_by_fft(x);
    EXPECT_LT(relative_error(by_scan, by_fft), kTol) << "bidirectional " << bidirectional;
    const auto g_scan = torch::autograd::grad({by_scan}, inputs, {seed});
    const auto g_fft = torch::autograd::grad({by_fft}, inputs, {seed});
    for (size_t i = 0; i < inputs.size(); ++i)
      EXPECT_LT(relative_error(g_scan[i], g_fft[i]), kTol)
          << "input " << i << ", bidirectional " << bidirectional;
  }
}

TEST(S4D, CausalWhenUnidirectional) {
  S4D s4d(small_options(false));
  s4d->to(torch::kDouble);
  s4d->eval();
  at::Tensor x = torch::randn({1, 10, 4}, torch::kDouble);
  at::Tensor x2 = x.clone();
  x2.select(1, 6).add_(1.0);
  // Outputs before the changed step do not move; later ones do.
  at::Tensor change = (s4d(x2) - s4d(x)).abs().amax({0, 2});  // (L)
  EXPECT_LT(change.narrow(0, 0, 6).max().item<double>(), 1e-12);
  EXPECT_GT(change.narrow(0, 6, 4).min().item<double>(), 1e-9);
}

TEST(S4D, GradientsReachEveryParameter) {
  S4D s4d(small_options(true));
  at::Tensor x = torch::randn({2, 9, 4}, torch::requires_grad());
  s4d(x).pow(2).mean().backward();
  for (const auto& p : s4d->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
  EXPECT_EQ(s4d->ssm_parameters().size(), 3u);
}

TEST(S4D, OptionsJsonAndBadInput) {
  S4DOptions o =
      nlohmann::json::parse(R"({"d_model": 6, "bidirectional": true})").get<S4DOptions>();
  EXPECT_EQ(o.d_state, 64);
  EXPECT_TRUE(o.bidirectional);
  EXPECT_EQ(nlohmann::json(o).get<S4DOptions>().d_model, 6);
  try {
    nlohmann::json{{"d_model", 6}, {"d_state", 7}}.get<S4DOptions>();
    ADD_FAILURE() << "odd d_state accepted";
  } catch (const ssmkit::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'d_state' must be even"), std::string::npos) << e.what();
  }
  S4D s4d(small_options(false));
  try {
    s4d(torch::randn({2, 4, 9}));
    ADD_FAILURE() << "wrong layout accepted";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace())
                  .find("S4D: 'x' has shape [2, 4, 9], expected (B, L, H) = [*, *, 4]"),
              std::string::npos)
        << e.what_without_backtrace();
  }
}

}  // namespace

namespace {

TEST(S4D, DropoutSilencesWholeChannelsInTraining) {
  S4DOptions o = small_options(false);
  o.dropout = 0.5;
  S4D s4d(o);
  s4d->to(torch::kDouble);
  s4d->train();
  // With the output projection set to the identity on the GLU's value half and a constant gate,
  // a dropped channel gives exactly zero output at every step.
  {
    torch::NoGradGuard g;
    s4d->output_linear->weight.zero_();
    s4d->output_linear->bias.zero_();
    s4d->output_linear->weight.narrow(0, 0, 4).copy_(torch::eye(4, torch::kDouble));
  }
  // GELU of a very negative value is exactly zero in double, so zeros alone do not mark a dropped
  // channel: every channel is either all zero or the evaluation output scaled by 1 / (1 - p).
  const at::Tensor u = torch::randn({8, 12, 4}, torch::kDouble);  // (B, L, H)
  const at::Tensor y = s4d(u);                                    // (B, L, H)
  s4d->eval();
  const at::Tensor expected = s4d(u) / (1.0 - o.dropout);  // (B, L, H)
  const at::Tensor dropped = (y == 0).all(1);              // (B, H)
  const at::Tensor kept = (y - expected).abs().amax(1) <= 1e-12 * expected.abs().amax(1);  // (B, H)
  EXPECT_TRUE((dropped | kept).all().item<bool>()) << y;
  EXPECT_GT(dropped.sum().item<int64_t>(), 0);
  EXPECT_GT((kept & ~dropped).sum().item<int64_t>(), 0);
  EXPECT_TRUE((expected.abs().amax(1) > 0).all().item<bool>())
      << "an evaluation channel is all zero";
}

}  // namespace
