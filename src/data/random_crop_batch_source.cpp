// Random crops of time-series batches.
#include "ssmkit/data/random_crop_batch_source.h"

#include <torch/torch.h>

#include <vector>

#include "ssmkit/data/seeded_rng.h"
#include "ssmkit/io/error.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::data {
namespace {

// Stream id of the crops within SeededRng::derive, apart from the shuffles'.
constexpr uint64_t kCropStream = 0x63726f70;  // "crop"

// x (B, L, ...) -> (B, crop, ...) starting at starts[b].
at::Tensor crop_steps(const at::Tensor& x, const at::Tensor& starts, int64_t crop) {
  const at::Tensor steps =
      starts.unsqueeze(1) + torch::arange(crop, starts.options()).unsqueeze(0);  // (B, crop)
  std::vector<int64_t> shape = {x.size(0), crop};
  at::Tensor index = steps;
  for (int64_t d = 2; d < x.dim(); ++d) {
    index = index.unsqueeze(-1);
    shape.push_back(x.size(d));
  }
  return torch::gather(x, 1, index.expand(shape));
}

}  // namespace

RandomCropBatchSource::RandomCropBatchSource(BatchSource& source, int64_t crop_size, uint64_t seed)
    : BatchAugmentationSource(source), crop_size_(crop_size), seed_(seed) {
  if (crop_size < 1)
    throw InputError("crop_size must be positive, got " + std::to_string(crop_size));
}

void RandomCropBatchSource::augment(Batch& batch, int64_t epoch, int64_t index) {
  const int64_t length = batch.inputs.size(1);
  if (length < crop_size_) {
    throw InputError("crop_size " + std::to_string(crop_size_) + " is longer than the series (" +
                     std::to_string(length) + " steps)");
  }
  std::vector<int64_t> starts(batch.inputs.size(0));
  for (size_t i = 0; i < starts.size(); ++i) {
    SeededRng rng(SeededRng::derive(
        {seed_, kCropStream, static_cast<uint64_t>(epoch), static_cast<uint64_t>(index), i}));
    starts[i] = rng.uniform_int(0, length - crop_size_);
  }
  const at::Tensor start_tensor = torch::tensor(starts, torch::kInt64).to(batch.inputs.device());
  const bool targets_are_series =
      batch.targets.defined() && batch.targets.dim() >= 2 && batch.targets.size(1) == length;
  batch.inputs = crop_steps(batch.inputs, start_tensor, crop_size_);
  if (targets_are_series) batch.targets = crop_steps(batch.targets, start_tensor, crop_size_);
}

}  // namespace ssmkit::data
