// Plain n-dimensional arrays for torch-free code: a dtype, a shape and one contiguous C-order,
// little-endian byte buffer. Readers return them; the torch layers wrap the buffer in an
// at::Tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "ssmkit/io/error.h"

namespace ssmkit::io {

enum class DType { float32, float64, int64, int32, uint8, int8, boolean };

// Bytes per element.
size_t dtype_size(DType dtype);
// "float32", "int64", "bool", ... (numpy's names).
const char* dtype_name(DType dtype);

// The DType of a C++ element type; `bool` maps to DType::boolean (one byte, 0 or 1).
template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::float32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::float64;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::int64;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::int32;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::uint8;
}
template <>
constexpr DType dtype_of<int8_t>() {
  return DType::int8;
}
template <>
constexpr DType dtype_of<bool>() {
  return DType::boolean;
}

// Formats a shape the way numpy prints it: "(3, 4)", "(3,)", "()".
std::string shape_to_string(const std::vector<int64_t>& shape);

// Number of elements of `shape`; throws InputError (naming `what`) on a negative dimension or when
// the byte size of the array would overflow.
int64_t checked_numel(const std::vector<int64_t>& shape, size_t itemsize, const std::string& what);

class NdArray {
 public:
  // An empty float32 array of shape (0,).
  NdArray();
  // A zero-filled array.
  NdArray(DType dtype, std::vector<int64_t> shape);

  // An array holding `values` (numel(shape) of them) with the dtype of T.
  template <typename T>
  static NdArray from_values(std::vector<int64_t> shape, const std::vector<T>& values) {
    NdArray array(dtype_of<T>(), std::move(shape));
    if (static_cast<int64_t>(values.size()) != array.numel()) {
      throw InputError("NdArray::from_values: " + std::to_string(values.size()) +
                       " values for shape " + shape_to_string(array.shape()));
    }
    if constexpr (std::is_same_v<T, bool>) {
      for (size_t i = 0; i < values.size(); ++i)
        array.bytes_[i] = values[i] ? 1 : 0;
    } else if (!values.empty()) {
      std::memcpy(array.bytes_.data(), values.data(), values.size() * sizeof(T));
    }
    return array;
  }

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  // Size of dimension `d`; negative `d` counts from the end.
  int64_t size(int64_t d) const;
  int64_t numel() const { return numel_; }
  size_t itemsize() const { return dtype_size(dtype_); }
  size_t nbytes() const { return bytes_.size(); }

  // The contiguous C-order buffer (nbytes() bytes, aligned for any element type).
  void* raw_data() { return bytes_.data(); }
  const void* raw_data() const { return bytes_.data(); }

  // Typed views; throw InputError when T is not the array's dtype.
  template <typename T>
  T* data() {
    require_dtype(dtype_of<T>());
    return reinterpret_cast<T*>(bytes_.data());
  }
  template <typename T>
  const T* data() const {
    require_dtype(dtype_of<T>());
    return reinterpret_cast<const T*>(bytes_.data());
  }

  // Every element converted to T (any dtype), in C order.
  template <typename T>
  std::vector<T> to_vector() const;

  // Same dtype, shape and bytes.
  bool operator==(const NdArray& other) const;
  bool operator!=(const NdArray& other) const { return !(*this == other); }

  // Throws InputError "<what> has dtype D and shape S, expected E (<layout>)" unless the array has
  // `dtype` and `expected_shape` (-1 matches any size). `layout` names the dimensions, e.g. "(N,
  // L)".
  void expect(DType dtype, const std::vector<int64_t>& expected_shape, const std::string& what,
              const std::string& layout) const;

  // Same buffer seen with another shape of the same element count.
  NdArray reshaped(std::vector<int64_t> shape) const;

 private:
  void require_dtype(DType wanted) const;

  DType dtype_ = DType::float32;
  std::vector<int64_t> shape_;
  int64_t numel_ = 0;
  // 16-byte aligned by operator new, enough for every dtype.
  std::vector<unsigned char> bytes_;
};

// An n-dimensional array of UTF-8 strings (numpy's '<U' arrays: column names, timestamps).
struct StringArray {
  std::vector<int64_t> shape;
  std::vector<std::string> values;  // numel(shape) strings in C order

  StringArray() = default;
  // A 1-D array.
  explicit StringArray(std::vector<std::string> strings);
  StringArray(std::vector<int64_t> shape, std::vector<std::string> strings);
  bool operator==(const StringArray& other) const {
    return shape == other.shape && values == other.values;
  }
};

// What one .npy file or .npz member holds.
using NpyArray = std::variant<NdArray, StringArray>;

}  // namespace ssmkit::io
