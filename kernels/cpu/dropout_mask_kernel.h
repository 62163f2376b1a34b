// The torch-free loop of dropout on the CPU: a scaled keep-mask from a counter-based generator
// (splitmix64 of seed + index), four 16-bit draws per 64-bit number. LibTorch 1.13's CPU
// bernoulli_ draws two 32-bit Mersenne-Twister numbers per element on one thread, which made
// attention dropout a sixth of a Ti-MAE training step.
#pragma once

#include <cstdint>

namespace ssmkit::kernels_cpu {

// Draws per element are 16-bit: the drop probability is rounded to a multiple of 1/65536.
constexpr uint32_t kDropoutLevels = 65536;

// out[i] = 0 with probability drop_threshold / kDropoutLevels, else keep_scale, for i in
// [begin, end); element i's draw depends only on (seed, i), so any split over threads gives the
// same mask. T is float or double (a scaled mask), or uint8_t with keep_scale 1 (a keep mask).
template <typename T>
void fill_dropout_mask(T* out, int64_t begin, int64_t end, uint64_t seed, uint32_t drop_threshold,
                       T keep_scale);

}  // namespace ssmkit::kernels_cpu
