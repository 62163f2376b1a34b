// Conversions between the torch-free arrays that readers return (io::NdArray) and at::Tensor.
#pragma once

#include <ATen/core/Tensor.h>

#include "ssmkit/io/nd_array.h"

namespace ssmkit::data {

// A tensor holding a copy of `array` (same shape; float32/float64/int64/int32/uint8/int8/bool).
at::Tensor to_tensor(const io::NdArray& array);

// An NdArray holding a copy of `tensor` (moved to the CPU, made contiguous). Throws c10::Error for
// dtypes numpy's formats here do not carry (e.g. bfloat16: convert first).
io::NdArray to_array(const at::Tensor& tensor);

}  // namespace ssmkit::data
