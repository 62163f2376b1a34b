// Data-parallel shards of an epoch order.
#include "ssmkit/data/data_shard.h"

#include <string>

#include "ssmkit/io/error.h"

namespace ssmkit::data {

int64_t DataShard::examples(int64_t n) const {
  if (count == 1) return n;
  return drop_uneven ? n / count : (n + count - 1) / count;
}

std::vector<int64_t> DataShard::select(const std::vector<int64_t>& order) const {
  if (count == 1) return order;
  const int64_t n = static_cast<int64_t>(order.size());
  const int64_t total = examples(n) * count;  // the padded or cut length
  std::vector<int64_t> part;
  part.reserve(static_cast<size_t>(examples(n)));
  // Position p of the padded order is order[p % n]: DistributedSampler's padding repeats the
  // order's start (more than once when it is shorter than the padding).
  for (int64_t position = index; position < total; position += count) {
    part.push_back(order[static_cast<size_t>(position % n)]);
  }
  return part;
}

void DataShard::check(const char* what) const {
  if (count < 1 || index < 0 || index >= count) {
    throw InputError(std::string(what) + ": shard " + std::to_string(index) + " of " +
                     std::to_string(count) + " is not a shard");
  }
}

}  // namespace ssmkit::data
