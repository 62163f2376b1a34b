// Random crops of time series as a training augmentation: each example of each batch is cut to
// `crop_size` consecutive steps starting at a random step, drawn from (seed, epoch, batch, example)
// so a resumed run sees the same crops. Targets that are series of the same length (a
// reconstruction task) are cut at the same steps; labels pass through.
#pragma once

#include <cstdint>

#include "ssmkit/data/batch_augmentation_source.h"

namespace ssmkit::data {

class RandomCropBatchSource : public BatchAugmentationSource {
 public:
  // `source` yields inputs (B, L, ...) with L >= crop_size; it must outlive this object.
  RandomCropBatchSource(BatchSource& source, int64_t crop_size, uint64_t seed);

 protected:
  void augment(Batch& batch, int64_t epoch, int64_t index) override;

 private:
  int64_t crop_size_;
  uint64_t seed_;
};

}  // namespace ssmkit::data
