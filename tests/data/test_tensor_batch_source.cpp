// In-memory batch source: coverage, drop_last, seeded per-epoch shuffle, argument checks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <set>

#include "ssmkit/data/epoch_shuffle.h"
#include "ssmkit/data/tensor_batch_source.h"

namespace {

using namespace ssmkit::data;

std::vector<int64_t> pass_rows(TensorBatchSource& source, int64_t epoch,
                               std::vector<int64_t>* sizes = nullptr) {
  source.reset(epoch);
  std::vector<int64_t> rows;
  Batch batch;
  while (source.next(batch)) {
    EXPECT_TRUE(torch::equal(batch.targets, batch.inputs.select(1, 0) * 10));  // rows stay paired
    if (sizes != nullptr) sizes->push_back(batch.inputs.size(0));
    for (int64_t i = 0; i < batch.inputs.size(0); ++i)
      rows.push_back(batch.inputs[i][0].item<int64_t>());
  }
  return rows;
}

struct Data {
  torch::Tensor inputs = torch::arange(10, torch::kLong).unsqueeze(1).repeat({1, 3});  // (10, 3)
  torch::Tensor targets = torch::arange(10, torch::kLong) * 10;                        // (10)
};

TEST(TensorBatchSource, InOrderCoversEveryRowWithAPartialLastBatch) {
  Data d;
  TensorBatchSource source(d.inputs, d.targets, {4, false, false, 0});
  std::vector<int64_t> sizes;
  const auto rows = pass_rows(source, 1, &sizes);
  EXPECT_EQ(rows, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4, 2}));
  EXPECT_EQ(source.num_batches(), 3);
  EXPECT_EQ(source.num_examples(), 10);
}

TEST(TensorBatchSource, DropLastSkipsThePartialBatch) {
  Data d;
  TensorBatchSource source(d.inputs, d.targets, {4, true, true, 3});
  std::vector<int64_t> sizes;
  const auto rows = pass_rows(source, 1, &sizes);
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(std::set<int64_t>(rows.begin(), rows.end()).size(), 8u);
  EXPECT_EQ(source.num_batches(), 2);
  EXPECT_EQ(source.num_examples(), 8);
}

TEST(TensorBatchSource, ShuffleDependsOnSeedAndEpochOnly) {
  Data d;
  TensorBatchSource a(d.inputs, d.targets, {3, true, false, 11});
  TensorBatchSource b(d.inputs, d.targets, {3, true, false, 11});
  TensorBatchSource c(d.inputs, d.targets, {3, true, false, 12});
  const auto a1 = pass_rows(a, 1);
  const auto a2 = pass_rows(a, 2);
  EXPECT_EQ(std::set<int64_t>(a1.begin(), a1.end()).size(), 10u);
  EXPECT_NE(a1, a2);
  pass_rows(b, 7);  // b's history does not matter, only (seed, epoch)
  EXPECT_EQ(pass_rows(b, 2), a2);
  EXPECT_EQ(pass_rows(b, 1), a1);
  EXPECT_NE(pass_rows(c, 1), a1);
}

TEST(EpochPermutation, IsAPermutationAndStable) {
  const auto p = epoch_permutation(1000, 42, 3);
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i)
    EXPECT_EQ(sorted[i], i);
  EXPECT_EQ(p, epoch_permutation(1000, 42, 3));
  EXPECT_TRUE(epoch_permutation(0, 1, 1).empty());
}

TEST(TensorBatchSource, RejectsMismatchedRowsAndBadBatchSize) {
  Data d;
  EXPECT_THROW(TensorBatchSource(d.inputs, d.targets.narrow(0, 0, 9), {4, false, false, 0}),
               c10::Error);
  EXPECT_THROW(TensorBatchSource(d.inputs, d.targets, {0, false, false, 0}), c10::Error);
  EXPECT_THROW(TensorBatchSource(torch::Tensor(), d.targets, {4, false, false, 0}), c10::Error);
}

}  // namespace
