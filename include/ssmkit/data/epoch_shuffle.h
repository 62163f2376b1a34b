// Shuffle orders that depend only on (seed, epoch): the same on every platform and standard
// library, so a resumed run sees exactly the batches an uninterrupted run would have seen.
#pragma once

#include <cstdint>
#include <vector>

namespace ssmkit::data {

// A permutation of 0..n-1 drawn by Fisher-Yates from a 64-bit generator seeded with (seed, epoch).
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace ssmkit::data
