// A training-time change applied to every batch of another source (a BatchSource decorator). The
// counts and the data-parallel shard are the inner source's. A subclass changes each batch knowing
// the epoch and the batch's index in it, so its random draws can come from (seed, epoch, batch)
// and a resumed run sees the same batches as an uninterrupted one.
#pragma once

#include <cstdint>

#include "ssmkit/data/batch.h"

namespace ssmkit::data {

class BatchAugmentationSource : public BatchSource {
 public:
  // `inner` must outlive this source.
  explicit BatchAugmentationSource(BatchSource& inner) : inner_(inner) {}

  void reset(int64_t epoch) override;
  bool next(Batch& batch) override;
  int64_t num_batches() const override { return inner_.num_batches(); }
  int64_t num_examples() const override { return inner_.num_examples(); }
  void set_shard(const DataShard& shard) override { inner_.set_shard(shard); }

 protected:
  // Changes `batch` (from the inner source) in place; `index` counts the epoch's batches from 0.
  virtual void augment(Batch& batch, int64_t epoch, int64_t index) = 0;

 private:
  BatchSource& inner_;
  int64_t epoch_ = 1;
  int64_t batch_index_ = 0;
};

}  // namespace ssmkit::data
