// One rank's part of every epoch in data-parallel training, as PyTorch's DistributedSampler
// takes it: every rank draws the same epoch order, pads it with its own start to a multiple of
// the rank count (so every rank gets as many examples; or cuts it to one when drop_uneven), and
// keeps positions index, index + count, index + 2 count, ... Batch k of the ranks together then
// holds the examples of one batch of count times the size.
#pragma once

#include <cstdint>
#include <vector>

namespace ssmkit::data {

struct DataShard {
  int64_t index = 0;
  int64_t count = 1;
  bool drop_uneven = false;

  bool whole() const { return count == 1; }
  // Examples of this shard in a pass over `n` examples.
  int64_t examples(int64_t n) const;
  // This shard's part of an epoch order.
  std::vector<int64_t> select(const std::vector<int64_t>& order) const;
  // InputError unless 0 <= index < count; `what` names the source in the message.
  void check(const char* what) const;
};

}  // namespace ssmkit::data
