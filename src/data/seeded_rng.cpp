// splitmix64 (Steele, Lea, Flood 2014): a full-period 64-bit generator with good mixing.
#include "ssmkit/data/seeded_rng.h"

#include <c10/util/Exception.h>

namespace ssmkit::data {
namespace {

// splitmix64's increment (the golden ratio in 64-bit fixed point) and finaliser constants.
constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kMix1 = 0xbf58476d1ce4e5b9ull;
constexpr uint64_t kMix2 = 0x94d049bb133111ebull;
// A double has 53 significant bits; the top 53 bits of a draw give an exact uniform in [0, 1).
constexpr int kDoubleBits = 53;

uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * kMix1;
  z = (z ^ (z >> 27)) * kMix2;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t SeededRng::derive(std::initializer_list<uint64_t> parts) {
  uint64_t hash = kGoldenGamma;
  for (uint64_t part : parts)
    hash = mix(hash + kGoldenGamma + mix(part));
  return hash;
}

uint64_t SeededRng::next_u64() {
  state_ += kGoldenGamma;
  return mix(state_);
}

double SeededRng::uniform() {
  return static_cast<double>(next_u64() >> (64 - kDoubleBits)) *
         (1.0 / static_cast<double>(uint64_t{1} << kDoubleBits));
}

int64_t SeededRng::uniform_int(int64_t low, int64_t high) {
  TORCH_CHECK(low <= high, "SeededRng::uniform_int: empty range [", low, ", ", high, "]");
  const uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low) + 1;
  if (span == 0) return static_cast<int64_t>(next_u64());  // the whole 64-bit range
  // Reject draws from the incomplete last block so every value is equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t draw = next_u64();
  while (draw >= limit)
    draw = next_u64();
  return static_cast<int64_t>(static_cast<uint64_t>(low) + draw % span);
}

}  // namespace ssmkit::data
