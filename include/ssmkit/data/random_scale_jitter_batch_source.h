// Amplitude augmentation of time-series batches: each training example is multiplied by a factor
// drawn from N(1, scale_std²) and gets independent N(0, jitter_std²) noise on every value (the
// "scaling" and "jittering" of the time-series augmentation literature). The draws depend only on
// (seed, epoch, batch), so a resumed run sees the same batches. Targets that are series of the
// inputs' shape (a reconstruction task) get the same change; labels pass through.
#pragma once

#include <cstdint>

#include "ssmkit/data/batch.h"

namespace ssmkit::data {

class RandomScaleJitterBatchSource : public BatchSource {
 public:
  // `source` yields inputs (B, L, C); it must outlive this object. Both deviations >= 0.
  RandomScaleJitterBatchSource(BatchSource& source, double scale_std, double jitter_std,
                               uint64_t seed);

  void reset(int64_t epoch) override;
  bool next(Batch& batch) override;
  int64_t num_batches() const override { return source_.num_batches(); }
  int64_t num_examples() const override { return source_.num_examples(); }
  void set_shard(const DataShard& shard) override { source_.set_shard(shard); }

 private:
  BatchSource& source_;
  double scale_std_;
  double jitter_std_;
  uint64_t seed_;
  int64_t epoch_ = 1;
  int64_t batch_index_ = 0;
};

}  // namespace ssmkit::data
