// Sums across the lanes of a warp by butterfly shuffles, for the CUDA kernels.
#pragma once

namespace ssmkit::kernels {

constexpr int kWarpSize = 32;
constexpr unsigned kFullWarpMask = 0xffffffffu;

// The sum of v over each group of kGroup adjacent lanes (a power of two, at most 32), in every
// lane of the group; the whole warp must take part.
template <int kGroup = kWarpSize>
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = 1; offset < kGroup; offset *= 2)
    v += __shfl_xor_sync(kFullWarpMask, v, offset);
  return v;
}

}  // namespace ssmkit::kernels
