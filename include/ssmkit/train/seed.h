// One seed for a run: LibTorch's CPU and CUDA generators (weight init, dropout) and the C library's
// rand(). Loaders derive their shuffle order from their own seed and the epoch, so a run is
// bit-reproducible on the CPU, and a resumed run sees the same batches.
#pragma once

#include <cstdint>

namespace ssmkit::train {

// The default seed of every program, decided here once: 2021, the seed of the official cMamba
// protocol, whose figures docs/results.md reproduces.
constexpr uint64_t kDefaultSeed = 2021;

void seed_everything(uint64_t seed);

}  // namespace ssmkit::train
