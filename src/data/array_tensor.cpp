// Conversions between io::NdArray and at::Tensor (always copies: the two own their memory).
#include "ssmkit/data/array_tensor.h"

#include <torch/torch.h>

#include <cstring>

namespace ssmkit::data {
namespace {

at::ScalarType scalar_type_of(io::DType dtype) {
  switch (dtype) {
    case io::DType::float32:
      return at::kFloat;
    case io::DType::float64:
      return at::kDouble;
    case io::DType::int64:
      return at::kLong;
    case io::DType::int32:
      return at::kInt;
    case io::DType::uint8:
      return at::kByte;
    case io::DType::int8:
      return at::kChar;
    case io::DType::boolean:
      return at::kBool;
  }
  TORCH_CHECK(false, "to_tensor: unknown array dtype");
}

io::DType dtype_of(at::ScalarType type) {
  switch (type) {
    case at::kFloat:
      return io::DType::float32;
    case at::kDouble:
      return io::DType::float64;
    case at::kLong:
      return io::DType::int64;
    case at::kInt:
      return io::DType::int32;
    case at::kByte:
      return io::DType::uint8;
    case at::kChar:
      return io::DType::int8;
    case at::kBool:
      return io::DType::boolean;
    default:
      TORCH_CHECK(false, "to_array: tensors of dtype ", c10::toString(type),
                  " have no array form; supported: Float, Double, Long, Int, Byte, Char, Bool");
  }
}

}  // namespace

at::Tensor to_tensor(const io::NdArray& array) {
  at::Tensor out =
      torch::empty(array.shape(), torch::TensorOptions().dtype(scalar_type_of(array.dtype())));
  if (array.nbytes() > 0) std::memcpy(out.data_ptr(), array.raw_data(), array.nbytes());
  return out;
}

io::NdArray to_array(const at::Tensor& tensor) {
  const io::DType dtype = dtype_of(tensor.scalar_type());
  at::Tensor cpu = tensor.detach().to(at::kCPU).contiguous();
  io::NdArray out(dtype, cpu.sizes().vec());
  if (out.nbytes() > 0) std::memcpy(out.raw_data(), cpu.data_ptr(), out.nbytes());
  return out;
}

}  // namespace ssmkit::data
