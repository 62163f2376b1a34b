// One seed for a run: LibTorch's CPU and CUDA generators (weight init, dropout) and the C library's
// rand(). Loaders derive their shuffle order from their own seed and the epoch, so a run is
// bit-reproducible on the CPU, and a resumed run sees the same batches.
#pragma once

#include <cstdint>

namespace ssmkit::train {

void seed_everything(uint64_t seed);

}  // namespace ssmkit::train
