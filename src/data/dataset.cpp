// Default batch gathering for datasets, and stacking of examples into a batch.
#include "ssmkit/data/dataset.h"

#include <torch/torch.h>

#include "ssmkit/util/checks.h"

namespace ssmkit::data {

Batch Dataset::get_batch(const std::vector<int64_t>& indices) const {
  std::vector<Example> examples;
  examples.reserve(indices.size());
  for (int64_t index : indices)
    examples.push_back(get(index));
  return stack_examples(examples);
}

Batch stack_examples(const std::vector<Example>& examples) {
  TORCH_CHECK(!examples.empty(), "stack_examples: no examples to stack");
  std::vector<at::Tensor> inputs;
  std::vector<at::Tensor> targets;
  inputs.reserve(examples.size());
  targets.reserve(examples.size());
  for (size_t i = 0; i < examples.size(); ++i) {
    const auto& example = examples[i];
    check_defined(example.input, "stack_examples", "input");
    check_defined(example.target, "stack_examples", "target");
    TORCH_CHECK(example.input.sizes() == examples[0].input.sizes() &&
                    example.target.sizes() == examples[0].target.sizes(),
                "stack_examples: example ", i, " has input ", shape_string(example.input.sizes()),
                " and target ", shape_string(example.target.sizes()), " but example 0 has input ",
                shape_string(examples[0].input.sizes()), " and target ",
                shape_string(examples[0].target.sizes()), "; a batch needs equal shapes");
    inputs.push_back(example.input);
    targets.push_back(example.target);
  }
  return Batch{torch::stack(inputs), torch::stack(targets)};
}

}  // namespace ssmkit::data
