// Compose: a sequence of per-example transforms.
#include "ssmkit/data/transform.h"

#include <c10/util/Exception.h>

namespace ssmkit::data {

Compose::Compose(std::vector<std::shared_ptr<const Transform>> transforms)
    : transforms_(std::move(transforms)) {
  for (size_t i = 0; i < transforms_.size(); ++i) {
    TORCH_CHECK(transforms_[i] != nullptr, "Compose: transform ", i, " is null");
  }
}

Example Compose::apply(const Example& example, SeededRng& rng) const {
  Example result = example;
  for (const auto& transform : transforms_)
    result = transform->apply(result, rng);
  return result;
}

}  // namespace ssmkit::data
