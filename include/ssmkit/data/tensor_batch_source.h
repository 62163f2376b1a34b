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
  // This rank's part of every epoch order in data-parallel training (data_shard.h).
  DataShard shard;
};

class TensorBatchSource : public BatchSource {
 public:
  // inputs (N, ...), targets (N, ...) or undefined (self-supervised tasks).
  TensorBatchSource(at::Tensor inputs, at::Tensor targets, TensorBatchSourceOptions options);

  void reset(int64_t epoch) override;
  bool next(Batch& batch) override;
  int64_t num_batches() const override;
  int64_t num_examples() const override;
  void set_shard(const DataShard& shard) override;

 private:
  at::Tensor inputs_;   // (N, ...)
  at::Tensor targets_;  // (N, ...) or undefined
  TensorBatchSourceOptions options_;
  at::Tensor order_;  // (N) int64 row order of the current pass
  int64_t position_ = 0;
};

}  // namespace ssmkit::data
