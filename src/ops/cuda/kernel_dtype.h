// The kernels' element type for a LibTorch dtype, shared by the host code of the CUDA ops.
#pragma once

#include <c10/core/ScalarType.h>
#include <c10/util/Exception.h>

#include "common/element_dtype.h"

namespace ssmkit::ops {

// Float, BFloat16 or Half; any other dtype is an error naming `fn`.
inline kernels::ElementDtype kernel_dtype(at::ScalarType t, const char* fn) {
  switch (t) {
    case at::kFloat:
      return kernels::ElementDtype::kFloat32;
    case at::kBFloat16:
      return kernels::ElementDtype::kBFloat16;
    case at::kHalf:
      return kernels::ElementDtype::kFloat16;
    default:
      TORCH_CHECK(false, fn, ": unsupported dtype ", c10::toString(t));
  }
}

}  // namespace ssmkit::ops
