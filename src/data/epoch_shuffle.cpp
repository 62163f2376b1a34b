// Deterministic per-epoch permutations (splitmix64-seeded xorshift; no std distributions, whose
// results differ between standard libraries).
#include "ssmkit/data/epoch_shuffle.h"

#include <utility>

namespace ssmkit::data {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Unbiased integer in [0, bound) by rejection of the top partial range.
uint64_t uniform_below(uint64_t bound, uint64_t& state) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t x = splitmix64(state);
  while (x >= limit)
    x = splitmix64(state);
  return x % bound;
}

}  // namespace

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n > 0 ? n : 0));
  for (int64_t i = 0; i < n; ++i)
    order[static_cast<size_t>(i)] = i;
  uint64_t mix = seed;
  uint64_t state = splitmix64(mix) ^ static_cast<uint64_t>(epoch);
  state = splitmix64(state);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(uniform_below(static_cast<uint64_t>(i + 1), state));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

}  // namespace ssmkit::data
