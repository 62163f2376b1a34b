// Seeding of every random generator a run uses.
#include "ssmkit/train/seed.h"

#include <torch/utils.h>

#include <cstdlib>

namespace ssmkit::train {

void seed_everything(uint64_t seed) {
  torch::manual_seed(seed);  // CPU generator and every CUDA device's generator
  std::srand(static_cast<unsigned>(seed));
}

}  // namespace ssmkit::train
