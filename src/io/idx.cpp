// IDX reader and the MNIST split loader.
#include "ssmkit/io/idx.h"

#include <cstring>
#include <filesystem>
#include <vector>

#include "ssmkit/io/error.h"
#include "ssmkit/io/file_bytes.h"

namespace ssmkit::io {
namespace {

constexpr size_t kMagicSize = 4;
constexpr size_t kDimensionSize = 4;
// MNIST and Fashion-MNIST have ten classes.
constexpr int64_t kMnistClasses = 10;
// Magic number + one dimension: where the labels start in an IDX labels file.
constexpr size_t kLabelsHeaderSize = 8;

struct IdxType {
  unsigned char code;
  DType dtype;
  const char* name;
};
constexpr IdxType kIdxTypes[] = {{0x08, DType::uint8, "uint8"},
                                 {0x09, DType::int8, "int8"},
                                 {0x0C, DType::int32, "int32"},
                                 {0x0D, DType::float32, "float32"},
                                 {0x0E, DType::float64, "float64"}};

uint32_t read_be32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | static_cast<uint32_t>(p[3]);
}

std::string hex32(uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "0x%08X", value);
  return buffer;
}

std::string find_idx_file(const std::string& folder, const std::string& prefix,
                          const std::string& kind) {
  // kind: "images-idx3-ubyte" or "labels-idx1-ubyte".
  const std::string dotted = kind.substr(0, kind.find('-')) + "." + kind.substr(kind.find('-') + 1);
  const std::vector<std::string> candidates = {prefix + "-" + kind + ".gz", prefix + "-" + kind,
                                               prefix + "-" + dotted + ".gz",
                                               prefix + "-" + dotted};
  for (const std::string& name : candidates) {
    const std::filesystem::path path = std::filesystem::path(folder) / name;
    if (std::filesystem::is_regular_file(path)) return path.string();
  }
  throw InputError(folder + ": no " + prefix + " " + kind.substr(0, kind.find('-')) +
                   " file (looked for " + candidates[0] + ", " + candidates[1] + ", " +
                   candidates[2] + ", " + candidates[3] + ")");
}

void expect_magic(const std::string& bytes, int magic, const std::string& path) {
  const uint32_t found = bytes.size() >= kMagicSize
                             ? read_be32(reinterpret_cast<const unsigned char*>(bytes.data()))
                             : 0;
  if (found != static_cast<uint32_t>(magic)) {
    throw InputError(path + ": bad magic number " + hex32(found) + " at byte offset 0, expected " +
                     std::to_string(magic) + " (" + hex32(static_cast<uint32_t>(magic)) + ") for " +
                     (magic == kIdxImagesMagic ? "IDX images" : "IDX labels"));
  }
}

// decode_idx() after decompression.
NdArray decode_plain_idx(std::string_view bytes, const std::string& origin) {
  if (bytes.size() < kMagicSize) {
    throw InputError(origin + ": truncated IDX header (" + std::to_string(bytes.size()) +
                     " bytes, expected a 4-byte magic number)");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const uint32_t magic = read_be32(data);
  if (data[0] != 0 || data[1] != 0) {
    throw InputError(origin + ": bad IDX magic number " + hex32(magic) +
                     " at byte offset 0 (expected 0x0000TTNN: two zero bytes, type, rank)");
  }
  const IdxType* type = nullptr;
  for (const IdxType& candidate : kIdxTypes) {
    if (candidate.code == data[2]) type = &candidate;
  }
  if (type == nullptr) {
    throw InputError(origin + ": unsupported IDX element type " + hex32(data[2]) +
                     " at byte offset 2 (expected 0x08 uint8, 0x09 int8, 0x0C int32, 0x0D float32 "
                     "or 0x0E float64)");
  }
  const size_t rank = data[3];
  if (rank == 0) throw InputError(origin + ": IDX rank 0 at byte offset 3, expected at least 1");
  const size_t header_size = kMagicSize + rank * kDimensionSize;
  if (bytes.size() < header_size) {
    throw InputError(origin + ": truncated IDX header (" + std::to_string(bytes.size()) +
                     " bytes, rank " + std::to_string(rank) + " needs " +
                     std::to_string(header_size) + ")");
  }
  std::vector<int64_t> shape(rank);
  for (size_t d = 0; d < rank; ++d) {
    shape[d] = read_be32(data + kMagicSize + d * kDimensionSize);
    if (shape[d] == 0) {
      throw InputError(origin + ": IDX dimension " + std::to_string(d) + " is 0 (byte offset " +
                       std::to_string(kMagicSize + d * kDimensionSize) + "), expected data");
    }
  }
  const size_t item_size = dtype_size(type->dtype);
  const int64_t numel = checked_numel(shape, item_size, origin);
  const size_t needed = static_cast<size_t>(numel) * item_size;
  const size_t available = bytes.size() - header_size;
  if (available != needed) {
    throw InputError(origin + ": " + (available < needed ? "truncated" : "trailing bytes in") +
                     " IDX data: shape " + shape_to_string(shape) + " of " + type->name +
                     " needs " + std::to_string(needed) + " bytes after the " +
                     std::to_string(header_size) + "-byte header, found " +
                     std::to_string(available));
  }
  NdArray array(type->dtype, shape);
  auto* out = static_cast<unsigned char*>(array.raw_data());
  std::memcpy(out, data + header_size, needed);
  // IDX is big-endian; our buffers are little-endian.
  for (size_t i = 0; item_size > 1 && i < needed; i += item_size) {
    for (size_t a = i, b = i + item_size - 1; a < b; ++a, --b)
      std::swap(out[a], out[b]);
  }
  return array;
}

}  // namespace

NdArray decode_idx(std::string_view bytes, const std::string& origin) {
  if (bytes.empty()) throw InputError(origin + ": empty file, expected IDX data");
  if (is_gzip(bytes)) return decode_plain_idx(gunzip(bytes, origin), origin);
  return decode_plain_idx(bytes, origin);
}

NdArray read_idx(const std::string& path) {
  return decode_idx(read_file_bytes(path), path);
}

LabelledImages load_mnist_split(const std::string& folder, DatasetSplit split) {
  const std::string prefix = split == DatasetSplit::train ? "train" : "t10k";
  const std::string images_path = find_idx_file(folder, prefix, "images-idx3-ubyte");
  const std::string labels_path = find_idx_file(folder, prefix, "labels-idx1-ubyte");
  const std::string image_bytes = gunzip_if_compressed(read_file_bytes(images_path), images_path);
  expect_magic(image_bytes, kIdxImagesMagic, images_path);
  const std::string label_bytes = gunzip_if_compressed(read_file_bytes(labels_path), labels_path);
  expect_magic(label_bytes, kIdxLabelsMagic, labels_path);
  const NdArray images = decode_plain_idx(image_bytes, images_path);
  const NdArray labels = decode_plain_idx(label_bytes, labels_path);
  if (images.size(0) != labels.size(0)) {
    throw InputError(labels_path + ": " + std::to_string(labels.size(0)) + " labels for " +
                     std::to_string(images.size(0)) + " images in " + images_path);
  }
  LabelledImages result;
  result.num_classes = kMnistClasses;
  result.images = images.reshaped({images.size(0), 1, images.size(1), images.size(2)});
  const uint8_t* label_data = labels.data<uint8_t>();
  std::vector<int64_t> label_values(label_data, label_data + labels.numel());
  for (size_t i = 0; i < label_values.size(); ++i) {
    if (label_values[i] >= kMnistClasses) {
      throw InputError(labels_path + ": label " + std::to_string(label_values[i]) + " of item " +
                       std::to_string(i) + " (byte offset " +
                       std::to_string(kLabelsHeaderSize + i) + ") is not a class 0..9");
    }
  }
  result.labels = NdArray::from_values<int64_t>({labels.size(0)}, label_values);
  result.coarse_labels = NdArray(DType::int64, {0});
  return result;
}

}  // namespace ssmkit::io
