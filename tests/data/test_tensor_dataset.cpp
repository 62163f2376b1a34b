// TensorDataset rows and batches, SeededRng determinism and uniformity.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "ssmkit/data/seeded_rng.h"
#include "ssmkit/data/tensor_dataset.h"

namespace ssmkit::data {
namespace {

TEST(TensorDataset, RowsAndGatheredBatches) {
  const auto inputs = torch::randn({6, 3, 4});
  const auto targets = torch::randint(0, 5, {6}, torch::kLong);
  const TensorDataset dataset(inputs, targets);
  EXPECT_EQ(dataset.size(), 6);
  const auto example = dataset.get(4);
  EXPECT_TRUE(torch::equal(example.input, inputs[4]));
  EXPECT_TRUE(torch::equal(example.target, targets[4]));
  const auto batch = dataset.get_batch({5, 0, 2});
  EXPECT_TRUE(torch::equal(batch.inputs, torch::stack({inputs[5], inputs[0], inputs[2]})));
  EXPECT_TRUE(torch::equal(batch.targets, torch::stack({targets[5], targets[0], targets[2]})));
  // The generic stacking path gives the same batch.
  const auto stacked = stack_examples({dataset.get(5), dataset.get(0), dataset.get(2)});
  EXPECT_TRUE(torch::equal(stacked.inputs, batch.inputs));
  EXPECT_THROW(dataset.get(6), c10::Error);
  EXPECT_THROW(dataset.get_batch({0, -1}), c10::Error);
}

TEST(TensorDataset, RejectsMismatchedTensors) {
  try {
    TensorDataset(torch::randn({6, 3}), torch::randn({5}));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'inputs' has shape [6, 3] and 'targets' has shape [5]"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(TensorDataset(torch::tensor(1.0), torch::tensor(1.0)), c10::Error);
  EXPECT_THROW(TensorDataset(at::Tensor(), torch::randn({2})), c10::Error);
  EXPECT_THROW(stack_examples({Example{torch::zeros({2}), torch::tensor(0)},
                               Example{torch::zeros({3}), torch::tensor(0)}}),
               c10::Error);
}

TEST(SeededRng, SameSeedSameStreamAndDerivedSeedsDiffer) {
  SeededRng a(123), b(123), c(124);
  for (int i = 0; i < 10; ++i) {
    const auto x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    EXPECT_NE(x, c.next_u64());
  }
  std::set<uint64_t> seeds;
  for (uint64_t epoch = 0; epoch < 10; ++epoch) {
    for (uint64_t index = 0; index < 10; ++index)
      seeds.insert(SeededRng::derive({7, epoch, index}));
  }
  EXPECT_EQ(seeds.size(), 100u);
  EXPECT_NE(SeededRng::derive({1, 2}), SeededRng::derive({2, 1}));
}

TEST(SeededRng, UniformDrawsStayInRangeAndCoverIt) {
  SeededRng rng(99);
  std::vector<int> counts(6, 0);
  constexpr int kDraws = 60000;
  double sum = 0.0;
  for (int i = 0; i < kDraws; ++i) {
    const auto k = rng.uniform_int(-2, 3);
    ASSERT_GE(k, -2);
    ASSERT_LE(k, 3);
    ++counts[k + 2];
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  // Each of 6 values expects 10000 draws (sd ~91); the mean of U(0,1) is 0.5 (sd ~0.0012).
  for (int count : counts)
    EXPECT_NEAR(count, kDraws / 6, 500);
  EXPECT_NEAR(sum / kDraws, 0.5, 0.01);
  EXPECT_EQ(rng.uniform_int(5, 5), 5);
  EXPECT_THROW(rng.uniform_int(3, 2), c10::Error);
}

}  // namespace
}  // namespace ssmkit::data
