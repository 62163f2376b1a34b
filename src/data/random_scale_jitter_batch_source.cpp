// Random amplitude scaling and jitter of time-series batches.
#include "ssmkit/data/random_scale_jitter_batch_source.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "ssmkit/data/seeded_rng.h"
#include "ssmkit/io/error.h"

namespace ssmkit::data {
namespace {

// Stream id of these draws within SeededRng::derive, apart from the shuffles' and the crops'.
constexpr uint64_t kScaleJitterStream = 0x6a697474;  // "jitt"

void check_deviation(double value, const char* name) {
  if (!(value >= 0.0) || !std::isfinite(value)) {
    throw InputError(std::string(name) + " must be a finite number >= 0, got " +
                     std::to_string(value));
  }
}

}  // namespace

RandomScaleJitterBatchSource::RandomScaleJitterBatchSource(BatchSource& source, double scale_std,
                                                           double jitter_std, uint64_t seed)
    : BatchAugmentationSource(source), scale_std_(scale_std), jitter_std_(jitter_std), seed_(seed) {
  check_deviation(scale_std, "scale_std");
  check_deviation(jitter_std, "jitter_std");
}

void RandomScaleJitterBatchSource::augment(Batch& batch, int64_t epoch, int64_t index) {
  const at::Tensor& x = batch.inputs;  // (B, L, C)
  // Drawn on the CPU from a generator of its own: the same values on every device and thread count.
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(SeededRng::derive(
      {seed_, kScaleJitterStream, static_cast<uint64_t>(epoch), static_cast<uint64_t>(index)}));
  const auto cpu = at::TensorOptions().dtype(x.scalar_type());
  std::vector<int64_t> scale_shape(static_cast<size_t>(x.dim()), 1);
  scale_shape[0] = x.size(0);
  const at::Tensor scale =
      (1.0 + scale_std_ * at::randn(scale_shape, generator, cpu)).to(x.device());  // (B, 1, 1)
  const at::Tensor noise =
      (jitter_std_ * at::randn(x.sizes(), generator, cpu)).to(x.device());  // (B, L, C)
  const bool targets_are_series = batch.targets.defined() && batch.targets.sizes() == x.sizes();
  batch.inputs = x * scale + noise;
  if (targets_are_series) batch.targets = batch.targets * scale + noise;
}

}  // namespace ssmkit::data
