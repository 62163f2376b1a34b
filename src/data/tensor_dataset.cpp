// TensorDataset: rows of two tensors as examples.
#include "ssmkit/data/tensor_dataset.h"

#include <torch/torch.h>

#include "ssmkit/util/checks.h"

namespace ssmkit::data {

TensorDataset::TensorDataset(at::Tensor inputs, at::Tensor targets)
    : inputs_(std::move(inputs)), targets_(std::move(targets)) {
  const char* fn = "TensorDataset";
  check_defined(inputs_, fn, "inputs");
  check_defined(targets_, fn, "targets");
  TORCH_CHECK(inputs_.dim() >= 1, fn, ": 'inputs' is a scalar, expected (N, ...)");
  TORCH_CHECK(targets_.dim() >= 1, fn, ": 'targets' is a scalar, expected (N, ...)");
  TORCH_CHECK(inputs_.size(0) == targets_.size(0), fn, ": 'inputs' has shape ",
              shape_string(inputs_.sizes()), " and 'targets' has shape ",
              shape_string(targets_.sizes()), "; their first dimensions (examples) must match");
  check_same_device(targets_, inputs_, fn, "targets", "inputs");
}

Example TensorDataset::get(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < size(), "TensorDataset::get: index ", index, " is outside [0, ",
              size(), ")");
  return Example{inputs_.select(0, index), targets_.select(0, index)};
}

Batch TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  TORCH_CHECK(!indices.empty(), "TensorDataset::get_batch: no indices");
  for (int64_t index : indices) {
    TORCH_CHECK(index >= 0 && index < size(), "TensorDataset::get_batch: index ", index,
                " is outside [0, ", size(), ")");
  }
  const auto rows = torch::tensor(indices, torch::kLong).to(inputs_.device());  // (B)
  return Batch{inputs_.index_select(0, rows), targets_.index_select(0, rows)};
}

}  // namespace ssmkit::data
