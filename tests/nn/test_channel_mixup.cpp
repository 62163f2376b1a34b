// Channel mixup: identity in eval mode; in training one channel permutation per batch and one
// lambda per (sample, channel), applied identically to inputs and targets; lambda ~ N(0, sigma^2).
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "ssmkit/nn/channel_mixup.h"
#include "test_helpers.h"

namespace {

using namespace ssmkit::nn;

at::Generator seeded(uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  return g;
}

TEST(ChannelMixup, EvalModeIsIdentity) {
  ChannelMixup mixup(1.0);
  mixup->eval();
  const at::Tensor x = torch::randn({4, 10, 3});
  const at::Tensor y = torch::randn({4, 6, 3});
  const MixedPair out = mixup->forward(x, y);
  EXPECT_TRUE(torch::equal(out.inputs, x));
  EXPECT_TRUE(torch::equal(out.targets, y));
}

TEST(ChannelMixup, TrainingMixesInputsAndTargetsWithTheSamePermutationAndLambda) {
  const int64_t B = 5, L = 12, H = 7, C = 4;
  ChannelMixup mixup(0.7, seeded(1234));
  mixup->train();
  const at::Tensor x = torch::randn({B, L, C}, torch::kDouble);
  const at::Tensor y = torch::randn({B, H, C}, torch::kDouble);
  const MixedPair out = mixup->forward(x, y);
  const at::Tensor dx = out.inputs - x;   // lambda[b, c] * x[b, :, perm c]
  const at::Tensor dy = out.targets - y;  // lambda[b, c] * y[b, :, perm c]
  EXPECT_GT(dx.abs().max().item<double>(), 0.0);
  // Recover perm and lambda from the inputs: dx[b, :, c] is proportional to exactly one channel.
  std::vector<int64_t> perm(C, -1);
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t b = 0; b < B; ++b) {
      int64_t found = -1;
      for (int64_t k = 0; k < C; ++k) {
        const at::Tensor src = x.select(0, b).select(1, k);  // (L)
        const at::Tensor d = dx.select(0, b).select(1, c);
        const double lambda = (d * src).sum().item<double>() / (src * src).sum().item<double>();
        if ((d - lambda * src).abs().max().item<double>() < 1e-12) {
          found = k;
          // The targets of (b, c) use the same source channel and the same lambda.
          const at::Tensor expected = lambda * y.select(0, b).select(1, k);
          EXPECT_LT((dy.select(0, b).select(1, c) - expected).abs().max().item<double>(), 1e-12);
        }
      }
      ASSERT_GE(found, 0) << "no source channel for b " << b << " c " << c;
      if (perm[c] < 0) perm[c] = found;
      EXPECT_EQ(perm[c], found) << "one permutation per batch";
    }
  }
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t c = 0; c < C; ++c)
    EXPECT_EQ(sorted[c], c) << "perm is a permutation";
}

TEST(ChannelMixup, LambdaHasMeanZeroAndStandardDeviationSigma) {
  const int64_t B = 4000, C = 5;
  const double sigma = 0.8;
  // Constant ones: the mixed value minus one is lambda itself.
  const at::Tensor x = torch::ones({B, 3, C});
  const MixedPair out = channel_mixup(x, torch::ones({B, 2, C}), sigma, seeded(7));
  const at::Tensor lambda = (out.inputs - 1).select(1, 0).to(torch::kDouble);  // (B, C)
  const double n = static_cast<double>(B * C);
  const double mean = lambda.mean().item<double>();
  const double sd = lambda.std().item<double>();
  EXPECT_LT(std::abs(mean), 4 * sigma / std::sqrt(n));
  EXPECT_NEAR(sd, sigma, 0.03 * sigma);
  // Every time step of a (b, c) shares its lambda.
  EXPECT_TRUE(torch::allclose(out.inputs.select(1, 0), out.inputs.select(1, 2)));
}

TEST(ChannelMixup, SameSeedSameDrawsAndZeroSigmaIsIdentity) {
  const at::Tensor x = torch::randn({3, 8, 4});
  const at::Tensor y = torch::randn({3, 5, 4});
  const MixedPair a = channel_mixup(x, y, 1.0, seeded(99));
  const MixedPair b = channel_mixup(x, y, 1.0, seeded(99));
  EXPECT_TRUE(torch::equal(a.inputs, b.inputs));
  EXPECT_TRUE(torch::equal(a.targets, b.targets));
  const MixedPair z = channel_mixup(x, y, 0.0);
  EXPECT_TRUE(torch::equal(z.inputs, x));
}

TEST(ChannelMixup, RejectsTargetsWithOtherChannels) {
  try {
    channel_mixup(torch::randn({3, 8, 4}), torch::randn({3, 5, 2}), 1.0);
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    EXPECT_NE(msg.find("'targets' has shape [3, 5, 2]"), std::string::npos) << msg;
  }
}

}  // namespace
