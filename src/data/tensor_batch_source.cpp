// In-memory batch source.
#include "ssmkit/data/tensor_batch_source.h"

#include <torch/torch.h>

#include <numeric>

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
  options_.shard.check(fn);
  reset(1);
}

void TensorBatchSource::reset(int64_t epoch) {
  const int64_t n = inputs_.size(0);
  std::vector<int64_t> order;
  if (options_.shuffle) {
    order = epoch_permutation(n, options_.seed, epoch);
  } else {
    order.resize(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
  }
  order_ = torch::tensor(options_.shard.select(order), torch::kLong).to(inputs_.device());
  position_ = 0;
}

void TensorBatchSource::set_shard(const DataShard& shard) {
  shard.check("TensorBatchSource");
  options_.shard = shard;
  reset(1);
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

int64_t TensorBatchSource::num_batches() const {
  const int64_t n = options_.shard.examples(inputs_.size(0));
  return options_.drop_last ? n / options_.batch_size
                            : (n + options_.batch_size - 1) / options_.batch_size;
}

int64_t TensorBatchSource::num_examples() const {
  return options_.drop_last ? num_batches() * options_.batch_size
                            : options_.shard.examples(inputs_.size(0));
}

}  // namespace ssmkit::data
