// NdArray and StringArray: construction, typed conversion, shape checks.
#include "ssmkit/io/nd_array.h"

#include <limits>

namespace ssmkit::io {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::float32:
      return 4;
    case DType::float64:
      return 8;
    case DType::int64:
      return 8;
    case DType::int32:
      return 4;
    case DType::uint8:
      return 1;
    case DType::int8:
      return 1;
    case DType::boolean:
      return 1;
  }
  return 1;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::float32:
      return "float32";
    case DType::float64:
      return "float64";
    case DType::int64:
      return "int64";
    case DType::int32:
      return "int32";
    case DType::uint8:
      return "uint8";
    case DType::int8:
      return "int8";
    case DType::boolean:
      return "bool";
  }
  return "unknown";
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  if (shape.size() == 1) text += ",";
  return text + ")";
}

int64_t checked_numel(const std::vector<int64_t>& shape, size_t itemsize, const std::string& what) {
  // Byte sizes must fit in int64 (and size_t) with room to spare for headers.
  const int64_t max_bytes = std::numeric_limits<int64_t>::max() / 2;
  int64_t numel = 1;
  for (const int64_t d : shape) {
    if (d < 0) {
      throw InputError(what + ": negative dimension in shape " + shape_to_string(shape));
    }
    if (d != 0 && numel > max_bytes / static_cast<int64_t>(itemsize) / d) {
      throw InputError(what + ": shape " + shape_to_string(shape) + " is too large");
    }
    numel *= d;
  }
  return numel;
}

NdArray::NdArray() : shape_{0} {}

NdArray::NdArray(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype),
      shape_(std::move(shape)),
      numel_(checked_numel(shape_, dtype_size(dtype), "NdArray")),
      bytes_(static_cast<size_t>(numel_) * dtype_size(dtype)) {}

int64_t NdArray::size(int64_t d) const {
  const int64_t rank = dim();
  const int64_t index = d < 0 ? d + rank : d;
  if (index < 0 || index >= rank) {
    throw InputError("NdArray::size: dimension " + std::to_string(d) + " out of range for shape " +
                     shape_to_string(shape_));
  }
  return shape_[static_cast<size_t>(index)];
}

void NdArray::require_dtype(DType wanted) const {
  if (wanted != dtype_) {
    throw InputError(std::string("array of dtype ") + dtype_name(dtype_) + " accessed as " +
                     dtype_name(wanted));
  }
}

namespace {

template <typename From, typename To>
void convert_elements(const unsigned char* bytes, int64_t n, std::vector<To>& out) {
  const From* from = reinterpret_cast<const From*>(bytes);
  for (int64_t i = 0; i < n; ++i)
    out[static_cast<size_t>(i)] = static_cast<To>(from[i]);
}

}  // namespace

template <typename T>
std::vector<T> NdArray::to_vector() const {
  std::vector<T> out(static_cast<size_t>(numel_));
  const unsigned char* bytes = bytes_.data();
  switch (dtype_) {
    case DType::float32:
      convert_elements<float>(bytes, numel_, out);
      break;
    case DType::float64:
      convert_elements<double>(bytes, numel_, out);
      break;
    case DType::int64:
      convert_elements<int64_t>(bytes, numel_, out);
      break;
    case DType::int32:
      convert_elements<int32_t>(bytes, numel_, out);
      break;
    case DType::uint8:
      convert_elements<uint8_t>(bytes, numel_, out);
      break;
    case DType::int8:
      convert_elements<int8_t>(bytes, numel_, out);
      break;
    case DType::boolean:
      convert_elements<uint8_t>(bytes, numel_, out);
      break;
  }
  return out;
}

template std::vector<float> NdArray::to_vector<float>() const;
template std::vector<double> NdArray::to_vector<double>() const;
template std::vector<int64_t> NdArray::to_vector<int64_t>() const;
template std::vector<int32_t> NdArray::to_vector<int32_t>() const;
template std::vector<uint8_t> NdArray::to_vector<uint8_t>() const;
template std::vector<int8_t> NdArray::to_vector<int8_t>() const;

bool NdArray::operator==(const NdArray& other) const {
  return dtype_ == other.dtype_ && shape_ == other.shape_ && bytes_ == other.bytes_;
}

void NdArray::expect(DType dtype, const std::vector<int64_t>& expected_shape,
                     const std::string& what, const std::string& layout) const {
  bool ok = dtype == dtype_ && expected_shape.size() == shape_.size();
  for (size_t i = 0; ok && i < shape_.size(); ++i) {
    ok = expected_shape[i] == -1 || expected_shape[i] == shape_[i];
  }
  if (ok) return;
  std::string expected = "(";
  for (size_t i = 0; i < expected_shape.size(); ++i) {
    if (i > 0) expected += ", ";
    expected += expected_shape[i] == -1 ? "*" : std::to_string(expected_shape[i]);
  }
  expected += expected_shape.size() == 1 ? ",)" : ")";
  throw InputError(what + " has dtype " + dtype_name(dtype_) + " and shape " +
                   shape_to_string(shape_) + ", expected " + dtype_name(dtype) + " " + expected +
                   (layout.empty() ? "" : " = " + layout));
}

NdArray NdArray::reshaped(std::vector<int64_t> shape) const {
  if (checked_numel(shape, itemsize(), "NdArray::reshaped") != numel_) {
    throw InputError("NdArray::reshaped: cannot view shape " + shape_to_string(shape_) + " as " +
                     shape_to_string(shape));
  }
  NdArray out = *this;
  out.shape_ = std::move(shape);
  return out;
}

StringArray::StringArray(std::vector<std::string> strings)
    : shape{static_cast<int64_t>(strings.size())}, values(std::move(strings)) {}

StringArray::StringArray(std::vector<int64_t> shape_in, std::vector<std::string> strings)
    : shape(std::move(shape_in)), values(std::move(strings)) {
  if (checked_numel(shape, 1, "StringArray") != static_cast<int64_t>(values.size())) {
    throw InputError("StringArray: " + std::to_string(values.size()) + " strings for shape " +
                     shape_to_string(shape));
  }
}

}  // namespace ssmkit::io
