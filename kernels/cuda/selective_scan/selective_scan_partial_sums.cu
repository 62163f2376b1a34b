// The sums of the backward's float32 partials (dA, dB, dC, dD, ddelta_bias), all in one launch:
// the blocks of the grid are dealt out to the sums in order, one output per thread.
#include "selective_scan/selective_scan_common.cuh"
#include "selective_scan/selective_scan_launch.h"

namespace ssmkit::kernels {
namespace detail {

constexpr int kSumThreads = 256;

__host__ __device__ inline int64_t sum_blocks(const ScanPartialSum& s) {
  return (s.count + kSumThreads - 1) / kSumThreads;
}

template <typename T>
__device__ __forceinline__ void store_sum(const ScanPartialSum& s, int64_t i, float v) {
  static_cast<T*>(s.dst)[i] = from_float<T>(v);
}

__global__ void __launch_bounds__(kSumThreads)
    selective_scan_partial_sums_kernel(const ScanPartialSumsParams p) {
  int64_t block = blockIdx.x;
  int which = 0;
  while (which < p.n_sums && block >= sum_blocks(p.sums[which])) {
    block -= sum_blocks(p.sums[which]);
    ++which;
  }
  if (which == p.n_sums) return;
  const ScanPartialSum& s = p.sums[which];
  const int64_t i = block * kSumThreads + threadIdx.x;
  if (i >= s.count) return;
  const int64_t outer = i / s.inner;
  const float* src = s.src + outer * s.outer_stride + (i - outer * s.inner);
  // Consecutive threads read consecutive addresses of each partial; four partials in flight.
  float acc[4] = {0.f, 0.f, 0.f, 0.f};
  int64_t k = 0;
  for (; k + 4 <= s.terms; k += 4) {
#pragma unroll
    for (int j = 0; j < 4; ++j)
      acc[j] += src[(k + j) * s.term_stride];
  }
  for (; k < s.terms; ++k)
    acc[0] += src[k * s.term_stride];
  const float total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  switch (s.dst_dtype) {
    case ScanDtype::kFloat32:
      store_sum<float>(s, i, total);
      break;
    case ScanDtype::kBFloat16:
      store_sum<__nv_bfloat16>(s, i, total);
      break;
    case ScanDtype::kFloat16:
      store_sum<__half>(s, i, total);
      break;
  }
}

}  // namespace detail

cudaError_t selective_scan_partial_sums(const ScanPartialSumsParams& p, cudaStream_t stream) {
  if (p.n_sums < 0 || p.n_sums > kMaxScanPartialSums) return cudaErrorInvalidValue;
  int64_t blocks = 0;
  for (int i = 0; i < p.n_sums; ++i) {
    const ScanPartialSum& s = p.sums[i];
    if (s.count < 0 || s.terms < 0 || s.inner <= 0) return cudaErrorInvalidValue;
    if (s.count > 0 && (s.src == nullptr || s.dst == nullptr)) return cudaErrorInvalidValue;
    blocks += detail::sum_blocks(s);
  }
  if (blocks == 0) return cudaSuccess;
  if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
  detail::selective_scan_partial_sums_kernel<<<static_cast<unsigned>(blocks), detail::kSumThreads,
                                               0, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace ssmkit::kernels
