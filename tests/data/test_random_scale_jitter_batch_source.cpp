// Amplitude augmentation: every example is scaled by one factor from N(1, scale_std²) and gets
// N(0, jitter_std²) noise per value (checked on the moments of many draws, in float64), series
// targets change with their inputs, labels do not, and the draws repeat for the same (seed, epoch).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "ssmkit/data/random_scale_jitter_batch_source.h"
#include "ssmkit/data/tensor_batch_source.h"
#include "ssmkit/io/error.h"

namespace ssmkit::data {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TensorBatchSourceOptions batches_of(int64_t size) {
  TensorBatchSourceOptions options;
  options.batch_size = size;
  return options;
}

// All batches of one epoch, inputs and targets concatenated in batch order.
Batch whole_epoch(BatchSource& source, int64_t epoch) {
  source.reset(epoch);
  std::vector<at::Tensor> inputs, targets;
  Batch batch;
  while (source.next(batch)) {
    inputs.push_back(batch.inputs);
    targets.push_back(batch.targets);
  }
  return {torch::cat(inputs), torch::cat(targets)};
}

TEST(RandomScaleJitter, ScalesEachExampleByOneFactorOfTheGivenSpread) {
  const at::Tensor x = torch::rand({4000, 6, 1}, torch::kFloat64) + 1.0;  // (N, L, 1), no zeros
  TensorBatchSource base(x, torch::arange(4000), batches_of(256));
  RandomScaleJitterBatchSource source(base, /*scale_std=*/0.2, /*jitter_std=*/0.0, /*seed=*/3);
  const Batch out = whole_epoch(source, 1);
  const at::Tensor ratio = out.inputs / x;  // (N, L, 1)
  EXPECT_TRUE(torch::allclose(ratio, ratio.select(1, 0).unsqueeze(1).expand_as(ratio)))
      << "one factor per example";
  const at::Tensor factor = ratio.select(1, 0).squeeze(-1);  // (N)
  EXPECT_NEAR(factor.mean().item<double>(), 1.0, 0.02);
  EXPECT_NEAR(factor.std().item<double>(), 0.2, 0.01);
  EXPECT_TRUE(torch::equal(out.targets, torch::arange(4000))) << "labels pass through";
}

TEST(RandomScaleJitter, AddsIndependentNoiseOfTheGivenSpread) {
  const at::Tensor x = torch::zeros({500, 40, 2}, torch::kFloat64);  // (N, L, C)
  TensorBatchSource base(x, torch::zeros({500}, torch::kInt64), batches_of(64));
  RandomScaleJitterBatchSource source(base, /*scale_std=*/0.0, /*jitter_std=*/0.05, /*seed=*/3);
  const at::Tensor noise = whole_epoch(source, 1).inputs;  // (N, L, C)
  EXPECT_NEAR(noise.mean().item<double>(), 0.0, 0.001);
  EXPECT_NEAR(noise.std().item<double>(), 0.05, 0.001);
  // Neighbouring steps are uncorrelated.
  const at::Tensor a = noise.narrow(1, 0, 39), b = noise.narrow(1, 1, 39);
  EXPECT_NEAR((a * b).mean().item<double>() / 0.0025, 0.0, 0.02);
}

TEST(RandomScaleJitter, SeriesTargetsChangeWithTheirInputsAndDrawsRepeatPerEpoch) {
  const at::Tensor x = torch::randn({50, 8, 1});  // (N, L, 1)
  TensorBatchSourceOptions shuffled = batches_of(16);
  shuffled.shuffle = true;
  shuffled.seed = 5;
  TensorBatchSource base(x, x, shuffled);
  RandomScaleJitterBatchSource source(base, 0.1, 0.1, /*seed=*/5);
  const Batch first = whole_epoch(source, 2);
  EXPECT_TRUE(torch::equal(first.inputs, first.targets)) << "a reconstruction target follows";
  EXPECT_TRUE(torch::equal(whole_epoch(source, 2).inputs, first.inputs))
      << "same epoch, same draws";
  EXPECT_FALSE(torch::equal(whole_epoch(source, 3).inputs, first.inputs));
  RandomScaleJitterBatchSource other_seed(base, 0.1, 0.1, /*seed=*/6);
  EXPECT_FALSE(torch::equal(whole_epoch(other_seed, 2).inputs, first.inputs));
}

TEST(RandomScaleJitter, NegativeOrNonFiniteSpreadsAreRejected) {
  TensorBatchSource base(torch::zeros({4, 3, 1}), at::Tensor(), {});
  EXPECT_THAT([&] { RandomScaleJitterBatchSource(base, -0.1, 0.0, 1); },
              ThrowsMessage<InputError>(HasSubstr("scale_std must be a finite number >= 0")));
  EXPECT_THAT([&] { RandomScaleJitterBatchSource(base, 0.0, std::nan(""), 1); },
              ThrowsMessage<InputError>(HasSubstr("jitter_std must be a finite number >= 0")));
}

}  // namespace
}  // namespace ssmkit::data
