// A random-access collection of (input, target) examples: what DataLoader draws batches from.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "ssmkit/data/batch.h"

namespace ssmkit::data {

struct Example {
  at::Tensor input;   // (...) one model input
  at::Tensor target;  // (...) its label or future values
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Example `index` in [0, size()). Must be safe to call from several threads at once. The
  // tensors may be views of the dataset's storage: callers must not modify them in place.
  virtual Example get(int64_t index) const = 0;
  // The examples at `indices`, stacked along a new first dimension. The default stacks get(i);
  // datasets holding whole tensors override it with one gather.
  virtual Batch get_batch(const std::vector<int64_t>& indices) const;
};

// Stacks examples of equal shapes into a batch: inputs (B, ...), targets (B, ...).
Batch stack_examples(const std::vector<Example>& examples);

}  // namespace ssmkit::data
