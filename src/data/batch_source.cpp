// What every BatchSource shares.
#include "ssmkit/data/batch.h"

#include "ssmkit/io/error.h"

namespace ssmkit::data {

void BatchSource::set_shard(const DataShard& shard) {
  if (shard.whole()) return;
  throw InputError(
      "this training data source cannot be split over data-parallel ranks (WORLD_SIZE " +
      std::to_string(shard.count) + ")");
}

}  // namespace ssmkit::data
