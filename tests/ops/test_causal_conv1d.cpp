// Causal conv1d against a plain loop in float64: whole sequences, chunks with state, single steps,
// gradients, and the messages for bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/ops/causal_conv1d.h"
#include "test_helpers.h"

namespace {

using ssmkit::ops::causal_conv1d;
using ssmkit::ops::causal_conv1d_chunk;
using ssmkit::ops::causal_conv1d_update;
using ssmkit::ops::ConvActivation;
using ssmkit::testing::relative_error;

constexpr double kTol = 1e-12;  // float64: only summation order differs

// The definition, one output at a time.
at::Tensor loop_reference(const at::Tensor& x,       // (B, D, L)
                          const at::Tensor& weight,  // (D, K)
                          const at::Tensor& bias,    // (D) or undefined
                          ConvActivation activation) {
  const int64_t batch = x.size(0), dim = x.size(1), len = x.size(2), width = weight.size(1);
  at::Tensor y = torch::full_like(x, std::numeric_limits<double>::quiet_NaN());
  auto xa = x.accessor<double, 3>();
  auto wa = weight.accessor<double, 2>();
  auto ya = y.accessor<double, 3>();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t d = 0; d < dim; ++d) {
      for (int64_t t = 0; t < len; ++t) {
        double acc = bias.defined() ? bias.data_ptr<double>()[d] : 0.0;
        for (int64_t k = 0; k < width; ++k) {
          const int64_t src = t - (width - 1) + k;
          if (src >= 0) acc += wa[d][k] * xa[b][d][src];
        }
        ya[b][d][t] = activation == ConvActivation::kSilu ? acc / (1.0 + std::exp(-acc)) : acc;
      }
    }
  }
  return y;
}

struct ConvCase {
  at::Tensor x;       // (B, D, L)
  at::Tensor weight;  // (D, K)
  at::Tensor bias;    // (D)
};

ConvCase random_case(int64_t batch, int64_t dim, int64_t len, int64_t width) {
  const auto opts = torch::dtype(torch::kDouble);
  return {torch::randn({batch, dim, len}, opts), torch::randn({dim, width}, opts),
          torch::randn({dim}, opts)};
}

TEST(CausalConv1d, MatchesLoopWithBiasAndSilu) {
  // Short kernels take the CPU's shifted multiply-adds; 12 taps take LibTorch's convolution.
  for (int64_t width : {1, 2, 4, 12}) {
    auto c = random_case(2, 5, 9, width);
    for (auto act : {ConvActivation::kNone, ConvActivation::kSilu}) {
      EXPECT_LT(relative_error(causal_conv1d(c.x, c.weight, c.bias, act),
                               loop_reference(c.x, c.weight, c.bias, act)),
                kTol)
          << "K = " << width;
      EXPECT_LT(relative_error(causal_conv1d(c.x, c.weight, at::Tensor(), act),
                               loop_reference(c.x, c.weight, at::Tensor(), act)),
                kTol)
          << "K = " << width << " without bias";
    }
  }
}

TEST(CausalConv1d, SequenceShorterThanKernel) {
  auto c = random_case(1, 3, 2, 4);
  EXPECT_LT(relative_error(causal_conv1d(c.x, c.weight, c.bias),
                           loop_reference(c.x, c.weight, c.bias, ConvActivation::kNone)),
            kTol);
}

TEST(CausalConv1d, ChunksContinueTheSequence) {
  auto c = random_case(2, 4, 11, 4);
  at::Tensor whole = causal_conv1d(c.x, c.weight, c.bias, ConvActivation::kSilu);
  at::Tensor state = torch::zeros({2, 4, 4}, c.x.options());
  std::vector<at::Tensor> parts;
  int64_t start = 0;
  for (int64_t len : {3, 1, 5, 2}) {
    parts.push_back(causal_conv1d_chunk(c.x.narrow(2, start, len), state, c.weight, c.bias,
                                        ConvActivation::kSilu));
    start += len;
  }
  EXPECT_LT(relative_error(torch::cat(parts, 2), whole), kTol);
  // The state holds the last K inputs, oldest first.
  EXPECT_TRUE(torch::equal(state, c.x.narrow(2, 11 - 4, 4)));
}

TEST(CausalConv1d, StepsEqualWholeSequence) {
  auto c = random_case(3, 4, 7, 3);
  at::Tensor whole = causal_conv1d(c.x, c.weight, c.bias, ConvActivation::kSilu);
  at::Tensor state = torch::zeros({3, 4, 3}, c.x.options());
  std::vector<at::Tensor> steps;
  for (int64_t t = 0; t < 7; ++t) {
    steps.push_back(
        causal_conv1d_update(c.x.select(2, t), state, c.weight, c.bias, ConvActivation::kSilu));
  }
  EXPECT_LT(relative_error(torch::stack(steps, 2), whole), kTol);
}

TEST(CausalConv1d, GradientsMatchLoopReference) {
  auto c = random_case(2, 3, 6, 4);
  for (auto* t : {&c.x, &c.weight, &c.bias})
    t->requires_grad_(true);
  at::Tensor probe = torch::randn({2, 3, 6}, c.x.options());
  auto grads_of = [&](const at::Tensor& y) {
    return torch::autograd::grad({(y * probe).sum()}, {c.x, c.weight, c.bias});
  };
  // A differentiable loop: the same sum written with shifted slices.
  at::Tensor ref = c.bias.view({1, 3, 1}).expand({2, 3, 6});
  for (int64_t k = 0; k < 4; ++k) {
    const int64_t shift = 3 - k;
    at::Tensor shifted =
        torch::cat({torch::zeros({2, 3, shift}, c.x.options()), c.x.narrow(2, 0, 6 - shift)}, 2);
    ref = ref + c.weight.select(1, k).view({1, 3, 1}) * shifted;
  }
  ref = torch::silu(ref);
  auto got = grads_of(causal_conv1d(c.x, c.weight, c.bias, ConvActivation::kSilu));
  auto want = grads_of(ref);
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_LT(relative_error(got[i], want[i]), kTol) << i;
}

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

TEST(CausalConv1d, BadInputsNameTensorAndShapes) {
  auto c = random_case(2, 4, 5, 3);
  std::string msg = error_of([&] { causal_conv1d(c.x, c.weight.narrow(0, 0, 3), c.bias); });
  EXPECT_NE(msg.find("causal_conv1d: 'weight' has shape [3, 3], expected (D, K) = [4, *]"),
            std::string::npos)
      << msg;
  msg = error_of([&] { causal_conv1d(c.x.select(2, 0), c.weight, c.bias); });
  EXPECT_NE(msg.find("'x' has shape [2, 4], expected 3 dimensions (B, D, L)"), std::string::npos)
      << msg;
  msg = error_of([&] { causal_conv1d(c.x, c.weight, torch::zeros({5}, c.x.options())); });
  EXPECT_NE(msg.find("'bias' has shape [5], expected (D) = [4]"), std::string::npos) << msg;
  msg = error_of([&] { causal_conv1d(c.x, c.weight.to(torch::kFloat), c.bias); });
  EXPECT_NE(msg.find("'weight' has dtype Float, expected the dtype of 'x' (Double)"),
            std::string::npos)
      << msg;
  at::Tensor state = torch::zeros({2, 4, 2}, c.x.options());
  msg = error_of([&] { causal_conv1d_update(c.x.select(2, 0), state, c.weight, c.bias); });
  EXPECT_NE(msg.find("causal_conv1d_update: 'conv_state' has shape [2, 4, 2], expected (B, D, K) "
                     "= [2, 4, 3]"),
            std::string::npos)
      << msg;
  msg = error_of([&] { causal_conv1d_chunk(c.x, state, c.weight, c.bias); });
  EXPECT_NE(msg.find("causal_conv1d_chunk: 'conv_state' has shape [2, 4, 2]"), std::string::npos)
      << msg;
}

}  // namespace

namespace {

// Under bf16 autocast the activations are bf16 while the parameters stay float32: the conv casts
// the parameters down, as autocast does for a convolution, and matches the all-bf16 result.
TEST(CausalConv1dMixedPrecision, Float32WeightsWithHalfPrecisionInput) {
  // bf16 only: LibTorch 1.13 has no fp16 convolution on the CPU.
  for (auto half : {torch::kBFloat16}) {
    at::Tensor x = torch::randn({2, 3, 9}).to(half);
    at::Tensor weight = torch::randn({3, 4});
    at::Tensor bias = torch::randn({3});
    at::Tensor mixed = ssmkit::ops::causal_conv1d(x, weight, bias);
    at::Tensor same = ssmkit::ops::causal_conv1d(x, weight.to(half), bias.to(half));
    EXPECT_EQ(mixed.scalar_type(), half);
    EXPECT_TRUE(torch::equal(mixed, same));
  }
}

}  // namespace
