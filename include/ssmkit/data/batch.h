// What the training core consumes: batches of (inputs, targets) from a source that can be
// restarted each epoch. Data loaders implement BatchSource; the Trainer knows nothing else of data.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "ssmkit/data/data_shard.h"

namespace ssmkit::data {

struct Batch {
  at::Tensor inputs;   // (batch, ...) model input
  at::Tensor targets;  // (batch, ...) what the loss compares against (labels or future values)
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // Starts a new pass; `epoch` seeds the shuffle order so a resumed run sees the same batches.
  virtual void reset(int64_t epoch) = 0;
  // Fills `batch` with the next batch; false at the end of the pass.
  virtual bool next(Batch& batch) = 0;
  // Number of batches in one pass.
  virtual int64_t num_batches() const = 0;
  // Number of examples in one pass.
  virtual int64_t num_examples() const = 0;
  // Data-parallel training: from the next reset on, serve only `shard`'s part of every pass
  // (num_batches and num_examples count that part). Sources that wrap another pass it on; the
  // default is an error, for a source that cannot be split.
  virtual void set_shard(const DataShard& shard);
};

}  // namespace ssmkit::data
