// Random crops of time series as a training augmentation: each example of each batch is cut to
// `crop_size` consecutive steps starting at a random step, drawn from (seed, epoch, batch, example)
// so a resumed run sees the same crops. Targets that are series of the same length (a
// reconstruction task) are cut at the same steps; labels pass through.
#pragma once

#include <cstdint>

#include "ssmkit/data/batch.h"

namespace ssmkit::data {

class RandomCropBatchSource : public BatchSource {
 public:
  // `source` yields inputs (B, L, ...) with L >= crop_size; it must outlive this object.
  RandomCropBatchSource(BatchSource& source, int64_t crop_size, uint64_t seed);

  void reset(int64_t epoch) override;
  bool next(Batch& batch) override;
  int64_t num_batches() const override { return source_.num_batches(); }
  int64_t num_examples() const override { return source_.num_examples(); }
  void set_shard(const DataShard& shard) override { source_.set_shard(shard); }

 private:
  BatchSource& source_;
  int64_t crop_size_;
  uint64_t seed_;
  int64_t epoch_ = 1;
  int64_t batch_index_ = 0;
};

}  // namespace ssmkit::data
