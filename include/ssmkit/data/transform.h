// Per-example transforms (augmentation, normalisation) applied by DataLoader before batching.
// Randomness comes only from the SeededRng passed in, which DataLoader seeds from
// (seed, epoch, example index): a transform's output never depends on threads or batch order.
#pragma once

#include <memory>
#include <vector>

#include "ssmkit/data/dataset.h"
#include "ssmkit/data/seeded_rng.h"

namespace ssmkit::data {

class Transform {
 public:
  virtual ~Transform() = default;
  // Returns the transformed example. Must not modify `example`'s tensors in place (they may be
  // views of the dataset). Called from several threads at once: keep no mutable state.
  virtual Example apply(const Example& example, SeededRng& rng) const = 0;
};

// Applies transforms in order, each drawing from the same generator.
class Compose : public Transform {
 public:
  explicit Compose(std::vector<std::shared_ptr<const Transform>> transforms);
  Example apply(const Example& example, SeededRng& rng) const override;

 private:
  std::vector<std::shared_ptr<const Transform>> transforms_;
};

}  // namespace ssmkit::data
