// In-memory batch source: coverage, drop_last, seeded per-epoch shuffle, argument checks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <set>

#include "ssmkit/data/epoch_shuffle.h"
#include "ssmkit/data/tensor_batch_source.h"
#include "ssmkit/io/error.h"

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
  TensorBatchSource source(d.inputs, d.targets, {4, false, false, 0, {}});
  std::vector<int64_t> sizes;
  const auto rows = pass_rows(source, 1, &sizes);
  EXPECT_EQ(rows, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4, 2}));
  EXPECT_EQ(source.num_batches(), 3);
  EXPECT_EQ(source.num_examples(), 10);
}

TEST(TensorBatchSource, DropLastSkipsThePartialBatch) {
  Data d;
  TensorBatchSource source(d.inputs, d.targets, {4, true, true, 3, {}});
  std::vector<int64_t> sizes;
  const auto rows = pass_rows(source, 1, &sizes);
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(std::set<int64_t>(rows.begin(), rows.end()).size(), 8u);
  EXPECT_EQ(source.num_batches(), 2);
  EXPECT_EQ(source.num_examples(), 8);
}

TEST(TensorBatchSource, ShuffleDependsOnSeedAndEpochOnly) {
  Data d;
  TensorBatchSource a(d.inputs, d.targets, {3, true, false, 11, {}});
  TensorBatchSource b(d.inputs, d.targets, {3, true, false, 11, {}});
  TensorBatchSource c(d.inputs, d.targets, {3, true, false, 12, {}});
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
  EXPECT_THROW(TensorBatchSource(d.inputs, d.targets.narrow(0, 0, 9), {4, false, false, 0, {}}),
               c10::Error);
  EXPECT_THROW(TensorBatchSource(d.inputs, d.targets, {0, false, false, 0, {}}), c10::Error);
  EXPECT_THROW(TensorBatchSource(torch::Tensor(), d.targets, {4, false, false, 0, {}}), c10::Error);
}

}  // namespace

namespace ssmkit::data {
namespace {

// Row ids of every batch of a pass.
std::vector<std::vector<int64_t>> shard_batches(const TensorBatchSourceOptions& options, int64_t n,
                                                int64_t epoch) {
  TensorBatchSource source(torch::arange(n, torch::kInt64), at::Tensor(), options);
  source.reset(epoch);
  std::vector<std::vector<int64_t>> out;
  Batch batch;
  while (source.next(batch)) {
    const at::Tensor rows = batch.inputs.contiguous();
    out.emplace_back(rows.data_ptr<int64_t>(), rows.data_ptr<int64_t>() + rows.numel());
  }
  return out;
}

TEST(TensorBatchSourceShards, RanksBatchKTogetherAreOneBatchOfTwiceTheSize) {
  TensorBatchSourceOptions whole;
  whole.batch_size = 8;
  whole.shuffle = true;
  whole.seed = 4;
  const auto reference = shard_batches(whole, 40, 3);
  TensorBatchSourceOptions shard = whole;
  shard.batch_size = 4;
  shard.shard.count = 2;
  std::vector<std::vector<std::vector<int64_t>>> ranks;
  for (int64_t r = 0; r < 2; ++r) {
    shard.shard.index = r;
    ranks.push_back(shard_batches(shard, 40, 3));
  }
  ASSERT_EQ(ranks[0].size(), reference.size());
  for (size_t k = 0; k < reference.size(); ++k) {
    std::vector<int64_t> together = ranks[0][k];
    together.insert(together.end(), ranks[1][k].begin(), ranks[1][k].end());
    std::sort(together.begin(), together.end());
    std::vector<int64_t> expected = reference[k];
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(together, expected) << "batch " << k;
  }
}

TEST(TensorBatchSourceShards, UnevenDataIsPaddedOrDropped) {
  TensorBatchSourceOptions o;
  o.batch_size = 4;
  o.shard.count = 3;
  for (int64_t r = 0; r < 3; ++r) {
    o.shard.index = r;
    o.shard.drop_uneven = false;
    TensorBatchSource padded(torch::arange(10, torch::kInt64), at::Tensor(), o);
    EXPECT_EQ(padded.num_examples(), 4);  // 10 padded to 12
    o.shard.drop_uneven = true;
    TensorBatchSource dropped(torch::arange(10, torch::kInt64), at::Tensor(), o);
    EXPECT_EQ(dropped.num_examples(), 3);  // 10 cut to 9
  }
  o.shard.index = 0;
  o.shard.drop_uneven = false;
  // The padding repeats the order's start: rank 1 and 2 of 10 rows get rows 0 and 1 again.
  o.shard.index = 1;
  EXPECT_EQ(shard_batches(o, 10, 1).back().back(), 0);
  o.shard.index = 3;
  EXPECT_THROW(TensorBatchSource(torch::arange(10), at::Tensor(), o), InputError);
}

TEST(TensorBatchSourceShards, SetShardSplitsALaterPassAsTheOptionDoes) {
  TensorBatchSourceOptions o;
  o.batch_size = 3;
  o.shuffle = true;
  o.seed = 9;
  TensorBatchSourceOptions sharded = o;
  sharded.shard = {1, 2, false};
  TensorBatchSource late(torch::arange(11, torch::kInt64), at::Tensor(), o);
  late.set_shard({1, 2, false});
  EXPECT_EQ(late.num_batches(), 2);  // 11 padded to 12: 6 rows each
  late.reset(2);
  std::vector<std::vector<int64_t>> rows;
  Batch batch;
  while (late.next(batch)) {
    const at::Tensor r = batch.inputs.contiguous();
    rows.emplace_back(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
  }
  EXPECT_EQ(rows, shard_batches(sharded, 11, 2));
}

}  // namespace
}  // namespace ssmkit::data
