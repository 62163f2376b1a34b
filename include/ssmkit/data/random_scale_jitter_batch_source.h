// Amplitude augmentation of time-series batches: each training example is multiplied by a factor
// drawn from N(1, scale_std²) and gets independent N(0, jitter_std²) noise on every value (the
// "scaling" and "jittering" of the time-series augmentation literature). The draws depend only on
// (seed, epoch, batch), so a resumed run sees the same batches. Targets that are series of the
// inputs' shape (a reconstruction task) get the same change; labels pass through.
#pragma once

#include <cstdint>

#include "ssmkit/data/batch_augmentation_source.h"

namespace ssmkit::data {

class RandomScaleJitterBatchSource : public BatchAugmentationSource {
 public:
  // `source` yields inputs (B, L, C); it must outlive this object. Both deviations >= 0.
  RandomScaleJitterBatchSource(BatchSource& source, double scale_std, double jitter_std,
                               uint64_t seed);

 protected:
  void augment(Batch& batch, int64_t epoch, int64_t index) override;

 private:
  double scale_std_;
  double jitter_std_;
  uint64_t seed_;
};

}  // namespace ssmkit::data
