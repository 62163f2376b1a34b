// Channel mixup over a training source.
#include "ssmkit/data/channel_mixup_batch_source.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>

#include "ssmkit/data/seeded_rng.h"
#include "ssmkit/nn/channel_mixup.h"

namespace ssmkit::data {
namespace {

// Separates the mixup draws from other users of the same run seed (e.g. the shuffle order).
constexpr uint64_t kMixupStream = 0x6d69787570ull;  // "mixup"

}  // namespace

ChannelMixupBatchSource::ChannelMixupBatchSource(BatchSource& inner, double sigma, uint64_t seed)
    : inner_(inner), sigma_(sigma), seed_(seed), generator_(at::detail::createCPUGenerator()) {
  TORCH_CHECK(sigma_ >= 0, "ChannelMixupBatchSource: sigma is ", sigma_, ", expected >= 0");
  reset(1);
}

void ChannelMixupBatchSource::reset(int64_t epoch) {
  inner_.reset(epoch);
  generator_.set_current_seed(
      SeededRng::derive({seed_, kMixupStream, static_cast<uint64_t>(epoch)}));
}

bool ChannelMixupBatchSource::next(Batch& batch) {
  if (!inner_.next(batch)) return false;
  nn::MixedPair mixed = nn::channel_mixup(batch.inputs, batch.targets, sigma_, generator_);
  batch.inputs = std::move(mixed.inputs);
  batch.targets = std::move(mixed.targets);
  return true;
}

}  // namespace ssmkit::data
