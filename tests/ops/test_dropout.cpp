// ssmkit's CPU dropout: drops p of the elements (within sampling error) and scales the rest by
// 1 / (1 - p); the same seed gives the same mask on any thread count; the gradient is the mask;
// evaluation mode and p = 0 pass the input through.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/ops/dropout.h"

namespace ssmkit::ops {
namespace {

TEST(Dropout, DropsPAndScalesTheRestOnAnyThreadCount) {
  const at::Tensor x = torch::ones({64, 4, 141, 141});
  for (const double p : {0.1, 0.5}) {
    torch::manual_seed(9);
    const at::Tensor y = ops::dropout(x, p, true);
    const double dropped = (y == 0).to(torch::kDouble).mean().item<double>();
    EXPECT_NEAR(dropped, p, 5e-3) << p;
    EXPECT_NEAR(y.max().item<double>(), 1.0 / (1.0 - p), 1e-6);
    EXPECT_NEAR(y.mean().item<double>(), 1.0, 5e-3) << "the expectation is kept";
    const int threads = at::get_num_threads();
    at::set_num_threads(1);
    torch::manual_seed(9);
    EXPECT_TRUE(torch::equal(ops::dropout(x, p, true), y)) << "a mask depends on the seed alone";
    at::set_num_threads(threads);
  }
  // Consecutive calls draw different masks.
  EXPECT_FALSE(torch::equal(ops::dropout(x, 0.5, true), ops::dropout(x, 0.5, true)));
}

TEST(Dropout, GradientIsTheMaskAndEvaluationPassesThrough) {
  const at::Tensor x = torch::randn({5, 7}, torch::dtype(torch::kDouble).requires_grad(true));
  const at::Tensor y = ops::dropout(x, 0.3, true);
  y.sum().backward();
  EXPECT_TRUE(torch::allclose(x.grad() * x, y));
  EXPECT_TRUE(torch::equal(ops::dropout(x, 0.3, false), x));
  EXPECT_TRUE(torch::equal(ops::dropout(x, 0.0, true), x));
  EXPECT_THROW(ops::dropout(x, 1.0, true), std::exception);
}

}  // namespace
}  // namespace ssmkit::ops

namespace {

TEST(ChannelDropout, DropsWholeChannelsForEveryStep) {
  torch::manual_seed(3);
  const at::Tensor x = torch::rand({16, 50, 32}) + 0.5;  // no zeros of its own
  const at::Tensor y = ssmkit::ops::channel_dropout(x, 0.25, true);
  const at::Tensor dropped = (y == 0);                      // (B, L, H)
  // A channel is silent at every step or at none.
  EXPECT_TRUE(torch::equal(dropped.all(1), dropped.any(1)));
  const double fraction = dropped.all(1).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(fraction, 0.25, 0.06);
  const at::Tensor kept = ~dropped;
  EXPECT_TRUE(torch::allclose(y.masked_select(kept), x.masked_select(kept) / 0.75));
  EXPECT_TRUE(torch::equal(ssmkit::ops::channel_dropout(x, 0.25, false), x));
  EXPECT_THROW(ssmkit::ops::channel_dropout(torch::ones({2, 3}), 0.1, true), c10::Error);
}

}  // namespace
