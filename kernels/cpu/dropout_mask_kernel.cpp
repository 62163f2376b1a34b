// Counter-based dropout masks.
#include "dropout_mask_kernel.h"

namespace ssmkit::kernels_cpu {
namespace {

// splitmix64 (Steele et al. 2014): a full-period bijection of the counter with good avalanche.
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

template <typename T>
void fill_dropout_mask(T* out, int64_t begin, int64_t end, uint64_t seed, uint32_t drop_threshold,
                       T keep_scale) {
  // Element i takes 16-bit lane i % 4 of number i / 4.
  int64_t i = begin;
  while (i < end) {
    const int64_t group = i / 4;
    const uint64_t bits = splitmix64(seed ^ (static_cast<uint64_t>(group) * 0xd1b54a32d192ed03ULL));
    for (int64_t lane = i % 4; lane < 4 && i < end; ++lane, ++i) {
      const auto draw = static_cast<uint32_t>((bits >> (16 * lane)) & 0xffffU);
      out[i] = draw < drop_threshold ? T(0) : keep_scale;
    }
  }
}

template void fill_dropout_mask<float>(float*, int64_t, int64_t, uint64_t, uint32_t, float);
template void fill_dropout_mask<double>(double*, int64_t, int64_t, uint64_t, uint32_t, double);
template void fill_dropout_mask<uint8_t>(uint8_t*, int64_t, int64_t, uint64_t, uint32_t, uint8_t);

}  // namespace ssmkit::kernels_cpu
