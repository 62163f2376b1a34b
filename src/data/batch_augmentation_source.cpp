// Training-time changes of another source's batches.
#include "ssmkit/data/batch_augmentation_source.h"

namespace ssmkit::data {

void BatchAugmentationSource::reset(int64_t epoch) {
  inner_.reset(epoch);
  epoch_ = epoch;
  batch_index_ = 0;
}

bool BatchAugmentationSource::next(Batch& batch) {
  if (!inner_.next(batch)) return false;
  augment(batch, epoch_, batch_index_);
  ++batch_index_;
  return true;
}

}  // namespace ssmkit::data
