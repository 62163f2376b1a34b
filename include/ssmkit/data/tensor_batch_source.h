// Batches sliced from in-memory tensors (row i of inputs pairs with row i of targets), with a
// per-epoch seeded shuffle and optional drop_last: for small data sets, tests and demos.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "ssmkit/data/batch.h"

namespace ssmkit::data {

struct TensorBatchSourceOptions {
  int64_t batch_size = 32;
  bool shuffle = false;
  bool drop_last = false;  // skip a final batch smaller than batch_size
  uint64_t seed = 0;       // with the epoch, decides the shuffle order
  // Data-parallel shards: this source yields positions shard_index, shard_index + shard_count,
  // ... of every epoch's order (the same order on every rank, as PyTorch's DistributedSampler),
  // so the ranks' batches k together hold the examples of one batch of shard_count times the
  // size. The order is first padded with its own start to a multiple of shard_count (every
  // rank gets as many examples), or cut to one when drop_uneven.
  int64_t shard_index = 0;
  int64_t shard_count = 1;
  bool drop_uneven = false;
};

class TensorBatchSource : public BatchSource {
 public:
  // inputs (N, ...), targets (N, ...) or undefined (self-supervised tasks).
  TensorBatchSource(at::Tensor inputs, at::Tensor targets, TensorBatchSourceOptions options);

  void reset(int64_t epoch) override;
  bool next(Batch& batch) override;
  int64_t num_batches() const override;
  int64_t num_examples() const override;

 private:
  int64_t shard_examples() const;  // examples of this shard in one pass

  at::Tensor inputs_;   // (N, ...)
  at::Tensor targets_;  // (N, ...) or undefined
  TensorBatchSourceOptions options_;
  at::Tensor order_;  // (N) int64 row order of the current pass
  int64_t position_ = 0;
};

}  // namespace ssmkit::data
