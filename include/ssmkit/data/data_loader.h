// Batches from a Dataset: shuffled per epoch from (seed, epoch), optional per-example transform,
// and optional background workers that build the next batches while the model trains. The
// batches, their order and their augmentations are the same for any number of workers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ssmkit/data/batch.h"
#include "ssmkit/data/dataset.h"
#include "ssmkit/data/transform.h"

namespace ssmkit::data {

// Two batches per worker keep the workers busy while the consumer takes one, without holding
// many batches in memory.
inline constexpr int64_t kDefaultPrefetchPerWorker = 2;

struct DataLoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = false;
  // Seeds the shuffle order and the transforms together with the epoch.
  uint64_t seed = 0;
  // Leave out the last batch when it would be smaller than batch_size.
  bool drop_last = false;
  // Threads building batches ahead of next(); 0 builds each batch inside next().
  int64_t num_workers = 0;
  // Batches each worker may build ahead of the one next() returns.
  int64_t prefetch_per_worker = kDefaultPrefetchPerWorker;
  // This rank's part of every pass in data-parallel training (data_shard.h).
  DataShard shard;
};

class DataLoader : public BatchSource {
 public:
  // Throws InputError for invalid options. `transform` may be null.
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options,
             std::shared_ptr<const Transform> transform = nullptr);
  // Stops the workers.
  ~DataLoader() override;
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Starts pass `epoch` (stopping a pass in progress). Must be called before next().
  void reset(int64_t epoch) override;
  // The next batch: inputs (B, ...), targets (B, ...). An exception thrown while building a batch
  // (by the dataset or the transform, on any thread) is rethrown here, in batch order, and ends
  // the pass.
  bool next(Batch& batch) override;
  int64_t num_batches() const override;
  int64_t num_examples() const override;
  void set_shard(const DataShard& shard) override;

  // Dataset indices of the examples of pass `epoch` (this shard's), in the order they are served.
  std::vector<int64_t> epoch_order(int64_t epoch) const;

 private:
  class Prefetcher;

  Batch build_batch(int64_t epoch, const std::vector<int64_t>& order, int64_t batch_index) const;
  void stop_workers();

  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  std::shared_ptr<const Transform> transform_;

  bool started_ = false;
  int64_t epoch_ = 0;
  int64_t next_batch_ = 0;                  // next batch to return (no workers)
  std::vector<int64_t> order_;              // dataset indices of this pass
  std::unique_ptr<Prefetcher> prefetcher_;  // with workers
};

}  // namespace ssmkit::data
