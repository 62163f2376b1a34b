// Channel mixup over a training source: every batch is mixed, inputs and targets with the same
// coefficients, reproducibly per (seed, epoch) whatever happened before; sigma 0 is the identity.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "ssmkit/data/channel_mixup_batch_source.h"
#include "ssmkit/data/tensor_batch_source.h"

namespace {

using namespace ssmkit::data;

constexpr int64_t kWindows = 10, kSteps = 6, kChannels = 4, kBatch = 4;

std::vector<Batch> pass(BatchSource& source, int64_t epoch) {
  source.reset(epoch);
  std::vector<Batch> batches;
  Batch batch;
  while (source.next(batch))
    batches.push_back(batch);
  return batches;
}

bool same(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i].inputs, b[i].inputs) || !torch::equal(a[i].targets, b[i].targets)) {
      return false;
    }
  }
  return true;
}

TEST(ChannelMixupBatchSource, MixesInputsAndTargetsAlikeReproduciblyPerEpoch) {
  const at::Tensor windows = torch::randn({kWindows, kSteps, kChannels});  // (N, L, C)
  // Targets equal to the inputs: a mix with the same coefficients keeps them equal.
  TensorBatchSource plain(windows, windows.clone(), {kBatch, true, false, 3});
  ChannelMixupBatchSource mixed(plain, /*sigma=*/1.0, /*seed=*/9);
  EXPECT_EQ(mixed.num_batches(), plain.num_batches());
  EXPECT_EQ(mixed.num_examples(), kWindows);

  const std::vector<Batch> epoch1 = pass(mixed, 1);
  const std::vector<Batch> unmixed = pass(plain, 1);
  ASSERT_EQ(epoch1.size(), 3u);
  for (size_t i = 0; i < epoch1.size(); ++i) {
    EXPECT_TRUE(torch::equal(epoch1[i].inputs, epoch1[i].targets)) << i;
    EXPECT_FALSE(torch::allclose(epoch1[i].inputs, unmixed[i].inputs)) << "batch " << i << " mixed";
    // Every mixed channel is the channel plus a multiple of one channel of the same window.
    const at::Tensor added = epoch1[i].inputs - unmixed[i].inputs;  // (b, L, C)
    for (int64_t c = 0; c < kChannels; ++c) {
      bool explained = false;
      for (int64_t source = 0; source < kChannels && !explained; ++source) {
        const at::Tensor base = unmixed[i].inputs.select(2, source);  // (b, L)
        const at::Tensor lambda = (added.select(2, c) * base).sum(1) / base.square().sum(1);
        explained = torch::allclose(added.select(2, c), lambda.unsqueeze(1) * base, 1e-4, 1e-5);
      }
      EXPECT_TRUE(explained) << "batch " << i << ", channel " << c;
    }
  }
  // Epoch 2 differs; epoch 1 again (as after a resume) repeats exactly, whatever ran in between.
  torch::randn({100});
  EXPECT_FALSE(same(pass(mixed, 2), epoch1));
  EXPECT_TRUE(same(pass(mixed, 1), epoch1));
  ChannelMixupBatchSource other_seed(plain, 1.0, 10);
  EXPECT_FALSE(same(pass(other_seed, 1), epoch1));
}

TEST(ChannelMixupBatchSource, SigmaZeroIsTheIdentityAndNegativeIsRejected) {
  const at::Tensor x = torch::randn({kWindows, kSteps, kChannels});
  const at::Tensor y = torch::randn({kWindows, 2, kChannels});
  TensorBatchSource plain(x, y, {kBatch, false, false, 0});
  ChannelMixupBatchSource identity(plain, 0.0, 1);
  EXPECT_TRUE(same(pass(identity, 1), pass(plain, 1)));
  EXPECT_THROW(ChannelMixupBatchSource(plain, -1.0, 1), c10::Error);
}

}  // namespace
