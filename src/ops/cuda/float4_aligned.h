// Inputs for kernels that read rows as float4, shared by the host code of the CUDA ops.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ssmkit::ops {

// `t` contiguous and starting on a 16-byte boundary: a contiguous view whose data starts off one
// (an odd storage offset) is copied to a fresh allocation.
inline at::Tensor float4_aligned(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return reinterpret_cast<std::uintptr_t>(c.data_ptr()) % 16 == 0 ? c : c.clone();
}

}  // namespace ssmkit::ops
