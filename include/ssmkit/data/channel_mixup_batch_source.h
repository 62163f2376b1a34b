// Channel mixup (nn/channel_mixup.h) applied to every batch of a training source: a BatchSource
// decorator, so the training loop stays model-agnostic. Its random draws come from a generator
// re-seeded from (seed, epoch) at each reset, so a resumed run mixes exactly as an uninterrupted
// one would. Wrap the training source only: validation and test batches must stay unmixed.
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>

#include "ssmkit/data/batch.h"

namespace ssmkit::data {

class ChannelMixupBatchSource : public BatchSource {
 public:
  // `inner` yields inputs (B, L, C) and targets (B, H, C) and must outlive this source; `sigma`
  // (>= 0) is the standard deviation of the mixing coefficients.
  ChannelMixupBatchSource(BatchSource& inner, double sigma, uint64_t seed);

  void reset(int64_t epoch) override;
  bool next(Batch& batch) override;
  int64_t num_batches() const override { return inner_.num_batches(); }
  int64_t num_examples() const override { return inner_.num_examples(); }
  void set_shard(const DataShard& shard) override { inner_.set_shard(shard); }

 private:
  BatchSource& inner_;
  double sigma_;
  uint64_t seed_;
  at::Generator generator_;  // CPU; the mixed batch stays on the inner source's device
};

}  // namespace ssmkit::data
