// A dataset held as two tensors whose first dimension indexes examples.
#pragma once

#include <ATen/core/Tensor.h>

#include "ssmkit/data/dataset.h"

namespace ssmkit::data {

class TensorDataset : public Dataset {
 public:
  // `inputs` and `targets` must have the same first dimension N.
  TensorDataset(at::Tensor inputs,    // (N, ...)
                at::Tensor targets);  // (N, ...)

  int64_t size() const override { return inputs_.size(0); }
  // Views of row `index` of inputs and targets.
  Example get(int64_t index) const override;
  // One index_select per tensor instead of stacking rows.
  Batch get_batch(const std::vector<int64_t>& indices) const override;

  const at::Tensor& inputs() const { return inputs_; }    // (N, ...)
  const at::Tensor& targets() const { return targets_; }  // (N, ...)

 private:
  at::Tensor inputs_;   // (N, ...)
  at::Tensor targets_;  // (N, ...)
};

}  // namespace ssmkit::data
