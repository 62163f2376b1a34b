// A small counter-free random generator (splitmix64) with explicit seeds, so shuffles and
// augmentations depend only on (seed, epoch, example index) and are the same on every platform,
// thread count and standard library.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace ssmkit::data {

class SeededRng {
 public:
  explicit SeededRng(uint64_t seed) : state_(seed) {}

  // One seed from several numbers, e.g. derive({seed, stream, epoch, index}); each part changes
  // the result unpredictably.
  static uint64_t derive(std::initializer_list<uint64_t> parts);

  uint64_t next_u64();
  // Uniform in [0, 1).
  double uniform();
  // Uniform integer in [low, high], both included; unbiased.
  int64_t uniform_int(int64_t low, int64_t high);

 private:
  uint64_t state_;
};

}  // namespace ssmkit::data
