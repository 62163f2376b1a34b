// The S4D scan against the recurrence written in plain LibTorch ops in float64 (outputs and every
// gradient), across channel counts that leave vector tails, lengths that are not whole vectors or
// warps, one and two directions; float32 against float64 at S4's size; and the argument checks.
// nn::S4D holds it to the Vandermonde kernel and the FFT (tests/nn/test_s4d.cpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "ssmkit/ops/s4d_scan.h"
#include "test_helpers.h"

namespace ssmkit::testing {
namespace {

using ::testing::HasSubstr;

struct S4DScanInputs {
  at::Tensor u;          // (B, L, H)
  at::Tensor decay_re;   // (directions, H, M)
  at::Tensor decay_im;   // (directions, H, M)
  at::Tensor weight_re;  // (directions, H, M)
  at::Tensor weight_im;  // (directions, H, M)
  at::Tensor skip;       // (H)

  std::vector<at::Tensor> all() const {
    return {u, decay_re, decay_im, weight_re, weight_im, skip};
  }
};

// Decays inside the unit disc as S4D's exp(dt A) are (|decay| in [0.6, 0.999], any angle).
S4DScanInputs random_inputs(int64_t batch, int64_t length, int64_t channels, int64_t modes,
                            int64_t directions, at::ScalarType dtype) {
  const auto opts = torch::TensorOptions().dtype(dtype);
  const std::vector<int64_t> rows = {directions, channels, modes};
  const at::Tensor radius = 0.6 + 0.399 * torch::rand(rows, opts);
  const at::Tensor angle = 6.283185307179586 * torch::rand(rows, opts);
  S4DScanInputs in;
  in.u = torch::randn({batch, length, channels}, opts);
  in.decay_re = radius * torch::cos(angle);
  in.decay_im = radius * torch::sin(angle);
  in.weight_re = torch::randn(rows, opts) * 0.3;
  in.weight_im = torch::randn(rows, opts) * 0.3;
  in.skip = torch::randn({channels}, opts);
  for (at::Tensor* t : {&in.u, &in.decay_re, &in.decay_im, &in.weight_re, &in.weight_im, &in.skip})
    t->requires_grad_(true);
  return in;
}

// The recurrence step by step in real arithmetic, differentiable by LibTorch's autograd.
at::Tensor reference(const S4DScanInputs& in) {
  const int64_t length = in.u.size(1);
  at::Tensor y = in.u * in.skip;  // (B, L, H)
  std::vector<at::Tensor> steps(static_cast<size_t>(length));
  for (int64_t d = 0; d < in.decay_re.size(0); ++d) {
    const at::Tensor ar = in.decay_re[d], ai = in.decay_im[d];             // (H, M)
    const at::Tensor wr = in.weight_re[d], wi = in.weight_im[d];           // (H, M)
    at::Tensor sr = torch::zeros_like(ar).expand({in.u.size(0), -1, -1});  // (B, H, M)
    at::Tensor si = sr;
    for (int64_t i = 0; i < length; ++i) {
      const int64_t t = d == 0 ? i : length - 1 - i;
      const at::Tensor u = in.u.select(1, t).unsqueeze(-1);  // (B, H, 1)
      const at::Tensor nr = ar * sr - ai * si + u;
      const at::Tensor ni = ar * si + ai * sr;
      sr = nr;
      si = ni;
      steps[static_cast<size_t>(t)] = (wr * nr - wi * ni).sum(-1);  // (B, H)
    }
    y = y + torch::stack(steps, 1);
  }
  return y;
}

struct ScanCase {
  int64_t batch, length, channels, modes, directions;
};

TEST(S4DScan, MatchesTheRecurrenceAndItsGradientsInFloat64) {
  torch::manual_seed(0);
  // Channels 19 and 37: whole vectors plus a scalar tail; 16: vectors only; 3: tail only.
  for (const ScanCase c :
       {ScanCase{2, 37, 19, 5, 1}, ScanCase{2, 37, 19, 5, 2}, ScanCase{3, 1, 16, 3, 1},
        ScanCase{1, 70, 37, 33, 2}, ScanCase{2, 9, 3, 1, 1}}) {
    const S4DScanInputs in =
        random_inputs(c.batch, c.length, c.channels, c.modes, c.directions, torch::kDouble);
    const at::Tensor y =
        ops::s4d_scan(in.u, in.decay_re, in.decay_im, in.weight_re, in.weight_im, in.skip);
    const at::Tensor expected = reference(in);
    EXPECT_LT(relative_error(y, expected), 1e-12)
        << "B " << c.batch << " L " << c.length << " H " << c.channels << " M " << c.modes
        << " directions " << c.directions;

    const at::Tensor seed = torch::randn_like(expected);
    const auto grads = torch::autograd::grad({y}, in.all(), {seed});
    const auto expected_grads = torch::autograd::grad({expected}, in.all(), {seed});
    const char* names[] = {"u", "decay_re", "decay_im", "weight_re", "weight_im", "skip"};
    for (size_t i = 0; i < grads.size(); ++i) {
      EXPECT_LT(relative_error(grads[i], expected_grads[i]), 1e-11)
          << "gradient of " << names[i] << ", H " << c.channels << " M " << c.modes
          << " directions " << c.directions;
    }
  }
}

// S4's layer: 784 steps, 32 modes, decays near the unit circle (slow ones hold long sums).
TEST(S4DScan, Float32FollowsFloat64OverLongSequences) {
  torch::manual_seed(1);
  const S4DScanInputs in64 = random_inputs(2, 784, 20, 32, 2, torch::kDouble);
  S4DScanInputs in32;
  std::vector<at::Tensor> leaves;
  for (const at::Tensor& t : in64.all()) {
    leaves.push_back(t.detach().to(torch::kFloat).requires_grad_(true));
  }
  in32 = {leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], leaves[5]};
  const at::Tensor y64 = ops::s4d_scan(in64.u, in64.decay_re, in64.decay_im, in64.weight_re,
                                       in64.weight_im, in64.skip);
  const at::Tensor y32 = ops::s4d_scan(in32.u, in32.decay_re, in32.decay_im, in32.weight_re,
                                       in32.weight_im, in32.skip);
  EXPECT_EQ(y32.scalar_type(), torch::kFloat);
  EXPECT_LT(relative_error(y32.to(torch::kDouble), y64), 1e-5);
  const at::Tensor seed = torch::randn_like(y64);
  const auto g64 = torch::autograd::grad({y64}, in64.all(), {seed});
  const auto g32 = torch::autograd::grad({y32}, in32.all(), {seed.to(torch::kFloat)});
  for (size_t i = 0; i < g64.size(); ++i)
    EXPECT_LT(relative_error(g32[i].to(torch::kDouble), g64[i]), 1e-4) << "gradient " << i;
}

TEST(S4DScan, ShapesAndDirectionsAreChecked) {
  const S4DScanInputs in = random_inputs(2, 8, 4, 3, 1, torch::kFloat);
  EXPECT_THAT(
      [&] {
        ops::s4d_scan(in.u, in.decay_re, in.decay_im.narrow(2, 0, 2), in.weight_re, in.weight_im,
                      in.skip);
      },
      ::testing::ThrowsMessage<c10::Error>(HasSubstr("s4d_scan: 'decay_im' has shape")));
  EXPECT_THAT(
      [&] {
        ops::s4d_scan(in.u, in.decay_re, in.decay_im, in.weight_re, in.weight_im,
                      in.skip.narrow(0, 0, 3));
      },
      ::testing::ThrowsMessage<c10::Error>(HasSubstr("s4d_scan: 'skip' has shape")));
  const at::Tensor three = torch::zeros({3, 4, 3});
  EXPECT_THAT([&] { ops::s4d_scan(in.u, three, three, three, three, in.skip); },
              ::testing::ThrowsMessage<c10::Error>(HasSubstr("3 directions, expected 1 or 2")));
}

}  // namespace
}  // namespace ssmkit::testing
