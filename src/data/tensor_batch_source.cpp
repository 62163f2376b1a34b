// In-memory batch source.
#include "ssmkit/data/tensor_batch_source.h"

#include <torch/torch.h>

#include "ssmkit/data/epoch_shuffle.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::data {

TensorBatchSource::TensorBatchSource(at::Tensor inputs, at::Tensor targets,
                                     TensorBatchSourceOptions options)
    : inputs_(std::move(inputs)), targets_(std::move(targets)), options_(options) {
  constexpr const char* fn = "TensorBatchSource";
  check_defined(inputs_, fn, "inputs");
  TORCH_CHECK(inputs_.dim() >= 1, fn, ": 'inputs' must have a leading example dimension (N, ...)");
  if (targets_.defined()) {
    TORCH_CHECK(targets_.dim() >= 1 && targets_.size(0) == inputs_.size(0), fn,
                ": 'targets' has shape ", shape_string(targets_.sizes()),
                ", expected (N, ...) with N = ", inputs_.size(0), " as 'inputs'");
  }
  TORCH_CHECK(options_.batch_size > 0, fn, ": batch_size must be positive, got ",
              options_.batch_size);
  TORCH_CHECK(options_.shard_count >= 1 && options_.shard_index >= 0 &&
                  options_.shard_index < options_.shard_count,
              fn, ": shard ", options_.shard_index, " of ", options_.shard_count,
              " is not a shard");
  reset(1);
}

void TensorBatchSource::reset(int64_t epoch) {
  const int64_t n = inputs_.size(0);
  if (options_.shuffle) {
    auto order = epoch_permutation(n, options_.seed, epoch);
    order_ = torch::tensor(order, torch::kLong).to(inputs_.device());
  } else {
    order_ = torch::arange(n, torch::TensorOptions().dtype(torch::kLong).device(inputs_.device()));
  }
  if (options_.shard_count > 1) {
    const int64_t shards = options_.shard_count;
    if (options_.drop_uneven) {
      order_ = order_.narrow(0, 0, n - n % shards);
    } else if (n % shards != 0) {
      const int64_t pad = shards - n % shards;
      // DistributedSampler's padding: the order's own start, repeated if it is shorter.
      order_ = torch::cat({order_, order_.repeat({(pad + n - 1) / n}).narrow(0, 0, pad)});
    }
    order_ = order_.slice(0, options_.shard_index, order_.size(0), shards).contiguous();
  }
  position_ = 0;
}

bool TensorBatchSource::next(Batch& batch) {
  const int64_t n = order_.size(0);
  const int64_t remaining = n - position_;
  if (remaining <= 0 || (options_.drop_last && remaining < options_.batch_size)) return false;
  const int64_t size = std::min(options_.batch_size, remaining);
  const auto rows = order_.narrow(0, position_, size);
  batch.inputs = inputs_.index_select(0, rows);
  batch.targets = targets_.defined() ? targets_.index_select(0, rows) : at::Tensor();
  position_ += size;
  return true;
}

int64_t TensorBatchSource::shard_examples() const {
  const int64_t n = inputs_.size(0), shards = options_.shard_count;
  if (shards == 1) return n;
  return options_.drop_uneven ? n / shards : (n + shards - 1) / shards;
}

int64_t TensorBatchSource::num_batches() const {
  const int64_t n = shard_examples();
  return options_.drop_last ? n / options_.batch_size
                            : (n + options_.batch_size - 1) / options_.batch_size;
}

int64_t TensorBatchSource::num_examples() const {
  return options_.drop_last ? num_batches() * options_.batch_size : shard_examples();
}

}  // namespace ssmkit::data
