// Channel attention and GDD-MLP against plain float64 loops; shapes and gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <vector>

#include "ssmkit/nn/channel_attention.h"
#include "ssmkit/nn/gdd_mlp.h"
#include "test_helpers.h"

namespace {

using namespace ssmkit::nn;
using ssmkit::testing::relative_error;
using Vec = std::vector<double>;

double gelu(double v) {
  return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
}
double relu(double v) {
  return v > 0 ? v : 0.0;
}
double sigmoid(double v) {
  return 1.0 / (1.0 + std::exp(-v));
}

// Plain C -> hidden -> C MLP with the module's weights.
Vec plain_mlp(const Vec& d, const at::Tensor& w1, const at::Tensor& b1, const at::Tensor& w2,
              const at::Tensor& b2, double (*act)(double)) {
  const int64_t hidden = w1.size(0), C = w2.size(0);
  Vec h(hidden), out(C);
  for (int64_t j = 0; j < hidden; ++j) {
    double s = b1.defined() ? b1[j].item<double>() : 0.0;
    for (int64_t c = 0; c < static_cast<int64_t>(d.size()); ++c)
      s += w1[j][c].item<double>() * d[c];
    h[j] = act(s);
  }
  for (int64_t c = 0; c < C; ++c) {
    double s = b2.defined() ? b2[c].item<double>() : 0.0;
    for (int64_t j = 0; j < hidden; ++j)
      s += w2[c][j].item<double>() * h[j];
    out[c] = s;
  }
  return out;
}

TEST(ChannelAttention, MatchesPlainLoopInFloat64) {
  const int64_t B = 2, C = 6, P = 3, D = 4;
  for (auto activation : {Activation::kGelu, Activation::kRelu}) {
    for (auto pooling :
         {ChannelPooling{true, true}, ChannelPooling{true, false}, ChannelPooling{false, true}}) {
      ChannelAttention attention(ChannelAttentionOptions{C, 2, pooling, activation});
      attention->to(torch::kDouble);
      const at::Tensor x = torch::randn({B, C, P, D}, torch::kDouble);
      const at::Tensor out = attention->forward(x);
      auto params = attention->named_parameters();
      const at::Tensor w1 = params["mlp.reduce.weight"], b1 = params["mlp.reduce.bias"];
      const at::Tensor w2 = params["mlp.expand.weight"], b2 = params["mlp.expand.bias"];
      ASSERT_EQ(w1.size(0), C / 2);
      at::Tensor expected = torch::empty_like(x);
      for (int64_t b = 0; b < B; ++b) {
        Vec avg(C), mx(C);
        for (int64_t c = 0; c < C; ++c) {
          double s = 0, m = -INFINITY;
          for (int64_t p = 0; p < P; ++p)
            for (int64_t d = 0; d < D; ++d) {
              const double v = x[b][c][p][d].item<double>();
              s += v;
              m = std::max(m, v);
            }
          avg[c] = s / (P * D);
          mx[c] = m;
        }
        Vec logit(C, 0.0);
        auto act = activation == Activation::kGelu ? gelu : relu;
        if (pooling.average) {
          const Vec o = plain_mlp(avg, w1, b1, w2, b2, act);
          for (int64_t c = 0; c < C; ++c)
            logit[c] += o[c];
        }
        if (pooling.maximum) {
          const Vec o = plain_mlp(mx, w1, b1, w2, b2, act);
          for (int64_t c = 0; c < C; ++c)
            logit[c] += o[c];
        }
        for (int64_t c = 0; c < C; ++c)
          expected[b][c] = x[b][c] * sigmoid(logit[c]);
      }
      EXPECT_LT(relative_error(out, expected), 1e-12);
      const at::Tensor w = attention->weights(x);
      EXPECT_GT(w.min().item<double>(), 0.0);
      EXPECT_LT(w.max().item<double>(), 1.0);
    }
  }
}

TEST(GddMlp, MatchesPlainLoopInFloat64) {
  const int64_t B = 2, C = 5, P = 3, D = 4;
  GddMlp gdd(GddMlpOptions{C, 2, ChannelPooling{true, true}});
  gdd->to(torch::kDouble);
  const at::Tensor x = torch::randn({B, C, P, D}, torch::kDouble);
  const at::Tensor out = gdd->forward(x);
  auto params = gdd->named_parameters();
  ASSERT_FALSE(params.contains("scale_mlp.reduce.bias"));  // bias-free as in CMamba
  const at::Tensor none;
  at::Tensor expected = torch::empty_like(x);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t p = 0; p < P; ++p) {
      Vec avg(C), mx(C);
      for (int64_t c = 0; c < C; ++c) {
        double s = 0, m = -INFINITY;
        for (int64_t d = 0; d < D; ++d) {
          const double v = x[b][c][p][d].item<double>();
          s += v;
          m = std::max(m, v);
        }
        avg[c] = s / D;
        mx[c] = m;
      }
      Vec scale(C, 0.0), shift(C, 0.0);
      for (const Vec* desc : {&avg, &mx}) {
        const Vec sc = plain_mlp(*desc, params["scale_mlp.reduce.weight"], none,
                                 params["scale_mlp.expand.weight"], none, gelu);
        const Vec sf = plain_mlp(*desc, params["shift_mlp.reduce.weight"], none,
                                 params["shift_mlp.expand.weight"], none, gelu);
        for (int64_t c = 0; c < C; ++c) {
          scale[c] += sc[c];
          shift[c] += sf[c];
        }
      }
      for (int64_t c = 0; c < C; ++c) {
        expected[b][c][p] = x[b][c][p] * sigmoid(scale[c]) + sigmoid(shift[c]);
      }
    }
  }
  EXPECT_LT(relative_error(out, expected), 1e-12);
}

TEST(GddMlp, GradientsReachInputAndEveryWeight) {
  GddMlp gdd(GddMlpOptions{7, 2, ChannelPooling{true, true}});
  const at::Tensor x = torch::randn({3, 7, 4, 8}, torch::requires_grad());
  const at::Tensor out = gdd->forward(x);
  ASSERT_EQ(out.sizes(), x.sizes());
  (out * torch::randn_like(out)).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
  for (const auto& p : gdd->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

// Central difference of f along a random direction of every input and parameter against autograd,
// in float64: catches wrong backward passes (LibTorch 1.13's GELU backward, max pooling).
void expect_gradients_match_finite_differences(
    torch::nn::Module& module, const std::function<at::Tensor(const at::Tensor&)>& f,
    const at::Tensor& x0) {
  constexpr double kStep = 1e-6;
  at::Tensor x = x0.clone().requires_grad_(true);
  const at::Tensor weights = torch::randn_like(f(x));  // a random linear read-out of the output
  module.zero_grad();
  (f(x) * weights).sum().backward();
  std::vector<at::Tensor> tensors = {x};
  for (auto& p : module.parameters())
    tensors.push_back(p);
  for (auto& t : tensors) {
    const at::Tensor direction = torch::randn_like(t);
    const double analytic = (t.grad() * direction).sum().item<double>();
    double numeric = 0;
    {
      torch::NoGradGuard no_grad;
      t.add_(direction, kStep);
      const double plus = (f(x) * weights).sum().item<double>();
      t.add_(direction, -2 * kStep);
      const double minus = (f(x) * weights).sum().item<double>();
      t.add_(direction, kStep);
      numeric = (plus - minus) / (2 * kStep);
    }
    EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric)));
  }
}

TEST(GddMlp, GradientsMatchFiniteDifferencesInFloat64) {
  GddMlp gdd(GddMlpOptions{6, 2, ChannelPooling{true, true}});
  gdd->to(torch::kDouble);
  expect_gradients_match_finite_differences(
      *gdd, [&](const at::Tensor& x) { return gdd->forward(x); },
      torch::randn({2, 6, 3, 5}, torch::kDouble));
}

TEST(ChannelAttention, GradientsMatchFiniteDifferencesInFloat64) {
  ChannelAttention attention(ChannelAttentionOptions{6, 2, {}, Activation::kGelu});
  attention->to(torch::kDouble);
  expect_gradients_match_finite_differences(
      *attention, [&](const at::Tensor& x) { return attention->forward(x); },
      torch::randn({2, 6, 3, 5}, torch::kDouble));
}

TEST(ChannelMlp, HiddenWidthIsAtLeastOne) {
  EXPECT_EQ(ChannelMlp(ChannelMlpOptions{1, 2, true, Activation::kGelu})->hidden(), 1);
  EXPECT_EQ(ChannelMlp(ChannelMlpOptions{7, 2, true, Activation::kGelu})->hidden(), 3);
}

TEST(ChannelAttention, RejectsWrongChannelCount) {
  ChannelAttention attention(ChannelAttentionOptions{4, 2, {}, Activation::kGelu});
  try {
    attention->forward(torch::randn({2, 3, 5, 6}));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    EXPECT_NE(msg.find("'x' has shape [2, 3, 5, 6]"), std::string::npos) << msg;
  }
}

}  // namespace
