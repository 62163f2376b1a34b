// DataLoader: order, shuffling reproducible from (seed, epoch), drop_last, prefetching workers
// giving exactly the batches of the synchronous path, and worker errors reaching next().
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <set>
#include <stdexcept>
#include <thread>

#include "ssmkit/data/data_loader.h"
#include "ssmkit/data/image_transforms.h"
#include "ssmkit/data/tensor_dataset.h"
#include "ssmkit/io/error.h"

namespace ssmkit::data {
namespace {

// Inputs (N, 2) hold [i, -i]; targets (N) hold i, so every batch shows which examples it has.
std::shared_ptr<TensorDataset> indexed_dataset(int64_t n) {
  const auto index = torch::arange(n, torch::kLong);
  const auto inputs = torch::stack({index.to(torch::kFloat), -index.to(torch::kFloat)}, 1);
  return std::make_shared<TensorDataset>(inputs, index);
}

std::vector<std::vector<int64_t>> pass_targets(DataLoader& loader, int64_t epoch) {
  loader.reset(epoch);
  std::vector<std::vector<int64_t>> batches;
  Batch batch;
  while (loader.next(batch)) {
    const auto targets = batch.targets.contiguous();
    batches.emplace_back(targets.data_ptr<int64_t>(),
                         targets.data_ptr<int64_t>() + targets.numel());
    EXPECT_TRUE(torch::equal(batch.inputs.select(1, 0), batch.targets.to(torch::kFloat)));
  }
  return batches;
}

std::vector<int64_t> flatten(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> all;
  for (const auto& b : batches)
    all.insert(all.end(), b.begin(), b.end());
  return all;
}

TEST(DataLoader, SequentialOrderAndLastPartialBatch) {
  DataLoaderOptions options;
  options.batch_size = 4;
  DataLoader loader(indexed_dataset(10), options);
  EXPECT_EQ(loader.num_batches(), 3);
  EXPECT_EQ(loader.num_examples(), 10);
  const auto batches = pass_targets(loader, 0);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0], (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(batches[2], (std::vector<int64_t>{8, 9}));
  Batch batch;
  EXPECT_FALSE(loader.next(batch));             // stays at the end
  EXPECT_EQ(pass_targets(loader, 1), batches);  // no shuffle: every epoch alike
}

TEST(DataLoader, DropLast) {
  DataLoaderOptions options;
  options.batch_size = 4;
  options.drop_last = true;
  DataLoader loader(indexed_dataset(10), options);
  EXPECT_EQ(loader.num_batches(), 2);
  EXPECT_EQ(loader.num_examples(), 8);
  const auto batches = pass_targets(loader, 0);
  ASSERT_EQ(batches.size(), 2u);
  for (const auto& b : batches)
    EXPECT_EQ(b.size(), 4u);
  DataLoader tiny(indexed_dataset(3), options);
  EXPECT_EQ(tiny.num_batches(), 0);
  EXPECT_TRUE(pass_targets(tiny, 0).empty());
}

TEST(DataLoader, ShuffleIsAPermutationReproducibleFromSeedAndEpoch) {
  DataLoaderOptions options;
  options.batch_size = 7;
  options.shuffle = true;
  options.seed = 42;
  DataLoader loader(indexed_dataset(50), options);
  const auto epoch3 = flatten(pass_targets(loader, 3));
  auto sorted = epoch3;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(50);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(sorted, identity);
  EXPECT_NE(epoch3, identity);
  EXPECT_EQ(epoch3, loader.epoch_order(3));
  // A resumed run (a new loader) sees the same order for the same epoch.
  DataLoader resumed(indexed_dataset(50), options);
  EXPECT_EQ(flatten(pass_targets(resumed, 3)), epoch3);
  // Other epochs and other seeds give other orders.
  EXPECT_NE(flatten(pass_targets(loader, 4)), epoch3);
  options.seed = 43;
  DataLoader reseeded(indexed_dataset(50), options);
  EXPECT_NE(flatten(pass_targets(reseeded, 3)), epoch3);
}

TEST(DataLoader, ShardsSplitEachEpochOrderAsDistributedSampler) {
  DataLoaderOptions options;
  options.batch_size = 4;
  options.shuffle = true;
  options.seed = 5;
  DataLoader whole(indexed_dataset(11), options);
  const std::vector<int64_t> order = whole.epoch_order(2);
  std::vector<std::vector<int64_t>> ranks;
  for (int64_t r = 0; r < 2; ++r) {
    DataLoader part(indexed_dataset(11), options);
    part.set_shard({r, 2, /*drop_uneven=*/false});
    EXPECT_EQ(part.num_examples(), 6);  // 11 padded with the order's first example
    EXPECT_EQ(part.num_batches(), 2);
    ranks.push_back(flatten(pass_targets(part, 2)));
  }
  for (size_t i = 0; i < 12; ++i)
    EXPECT_EQ(ranks[i % 2][i / 2], order[i % 11]) << "position " << i;
  DataLoader dropped(indexed_dataset(11), options);
  dropped.set_shard({1, 2, /*drop_uneven=*/true});
  EXPECT_EQ(dropped.num_examples(), 5);
  EXPECT_THROW(dropped.set_shard({2, 2, false}), InputError);
}

// Adds a random offset to each input, recording nothing: output depends only on the rng.
class AddNoise : public Transform {
 public:
  Example apply(const Example& example, SeededRng& rng) const override {
    return Example{example.input + rng.uniform(), example.target};
  }
};

TEST(DataLoader, WorkersGiveExactlyTheSynchronousBatches) {
  const auto images = torch::randn({37, 3, 6, 6});
  const auto labels = torch::randint(0, 10, {37}, torch::kLong);
  auto dataset = std::make_shared<TensorDataset>(images, labels);
  auto transform = std::make_shared<Compose>(std::vector<std::shared_ptr<const Transform>>{
      std::make_shared<RandomCrop>(6, 6, 2), std::make_shared<RandomHorizontalFlip>(),
      std::make_shared<AddNoise>()});
  DataLoaderOptions options;
  options.batch_size = 5;
  options.shuffle = true;
  options.seed = 7;
  const auto collect = [&](int64_t workers, int64_t prefetch, int64_t epoch) {
    options.num_workers = workers;
    options.prefetch_per_worker = prefetch;
    DataLoader loader(dataset, options, transform);
    loader.reset(epoch);
    std::vector<Batch> batches;
    Batch batch;
    while (loader.next(batch))
      batches.push_back(batch);
    return batches;
  };
  const auto reference = collect(0, 1, 2);
  ASSERT_EQ(reference.size(), 8u);
  for (const auto& [workers, prefetch] :
       std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 2}, {8, 1}}) {
    const auto batches = collect(workers, prefetch, 2);
    ASSERT_EQ(batches.size(), reference.size()) << workers << " workers";
    for (size_t b = 0; b < batches.size(); ++b) {
      EXPECT_TRUE(torch::equal(batches[b].inputs, reference[b].inputs))
          << "batch " << b << " with " << workers << " workers";
      EXPECT_TRUE(torch::equal(batches[b].targets, reference[b].targets));
    }
  }
  // Another epoch augments differently.
  EXPECT_FALSE(torch::equal(collect(2, 2, 3)[0].inputs, reference[0].inputs));
}

// Fails on one example, counting how often it is asked for examples.
class FailingDataset : public Dataset {
 public:
  FailingDataset(int64_t size, int64_t bad) : size_(size), bad_(bad) {}
  int64_t size() const override { return size_; }
  Example get(int64_t index) const override {
    ++calls;
    if (index == bad_) throw InputError("example " + std::to_string(index) + " is corrupt");
    return Example{torch::full({2}, static_cast<double>(index)), torch::tensor(index)};
  }
  mutable std::atomic<int64_t> calls{0};

 private:
  int64_t size_;
  int64_t bad_;
};

TEST(DataLoader, WorkerExceptionsReachNextInBatchOrder) {
  for (int64_t workers : {0, 1, 4}) {
    auto dataset = std::make_shared<FailingDataset>(40, 13);
    DataLoaderOptions options;
    options.batch_size = 4;
    options.num_workers = workers;
    DataLoader loader(dataset, options);
    loader.reset(0);
    Batch batch;
    for (int b = 0; b < 3; ++b) {
      ASSERT_TRUE(loader.next(batch)) << workers << " workers";  // examples 0..11 are fine
      EXPECT_EQ(batch.targets[0].item<int64_t>(), 4 * b);
    }
    try {
      loader.next(batch);
      FAIL() << "expected the dataset's error with " << workers << " workers";
    } catch (const InputError& e) {
      EXPECT_STREQ(e.what(), "example 13 is corrupt");
    }
    EXPECT_FALSE(loader.next(batch));  // the pass is over
    // A new pass starts cleanly and fails at the same place.
    loader.reset(1);
    ASSERT_TRUE(loader.next(batch));
  }
}

TEST(DataLoader, PrefetchIsBoundedAndResetMidPassIsSafe) {
  auto dataset = std::make_shared<FailingDataset>(400, -1);
  DataLoaderOptions options;
  options.batch_size = 2;
  options.num_workers = 2;
  options.prefetch_per_worker = 2;
  DataLoader loader(dataset, options);
  loader.reset(0);
  Batch batch;
  ASSERT_TRUE(loader.next(batch));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // One batch taken, at most 4 more in flight or ready: no more than 5 batches were built.
  EXPECT_LE(dataset->calls.load(), 5 * 2);
  // Reset in the middle of a pass, and destroy in the middle of another: no hang, no crash.
  loader.reset(1);
  ASSERT_TRUE(loader.next(batch));
  EXPECT_EQ(batch.targets[0].item<int64_t>(), 0);
}

TEST(DataLoader, RejectsBadOptions) {
  auto dataset = indexed_dataset(4);
  DataLoaderOptions options;
  options.batch_size = 0;
  EXPECT_THROW(DataLoader(dataset, options), InputError);
  options.batch_size = 2;
  options.num_workers = -1;
  EXPECT_THROW(DataLoader(dataset, options), InputError);
  options.num_workers = 1;
  options.prefetch_per_worker = 0;
  EXPECT_THROW(DataLoader(dataset, options), InputError);
  EXPECT_THROW(DataLoader(nullptr, DataLoaderOptions{}), InputError);
  DataLoader loader(dataset, DataLoaderOptions{});
  Batch batch;
  EXPECT_THROW(loader.next(batch), c10::Error);  // reset() first
}

}  // namespace
}  // namespace ssmkit::data
