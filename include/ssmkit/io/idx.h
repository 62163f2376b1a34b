// IDX files (MNIST, Fashion-MNIST): big-endian header with a magic number that encodes the element
// type and rank, then the elements. Plain or gzip-compressed.
#pragma once

#include <string>
#include <string_view>

#include "ssmkit/io/labelled_images.h"
#include "ssmkit/io/nd_array.h"

namespace ssmkit::io {

// Magic numbers of the two files of an image classification split.
constexpr int kIdxImagesMagic = 2051;  // 0x00000803: uint8, 3 dimensions (N, rows, cols)
constexpr int kIdxLabelsMagic = 2049;  // 0x00000801: uint8, 1 dimension (N)

// Parses IDX bytes (gzip-compressed or not) into an array of the stored type (uint8, int8, int32,
// float32, float64) and shape. Throws InputError naming `origin` and the byte offset for a bad
// magic number, an unsupported type, a zero dimension, and data shorter or longer than the header
// declares.
NdArray decode_idx(std::string_view bytes, const std::string& origin);

// decode_idx() on the contents of `path`.
NdArray read_idx(const std::string& path);

// Loads an MNIST-layout split from `folder`: train-images-idx3-ubyte / train-labels-idx1-ubyte (or
// t10k-* for the test split), each with or without ".gz" (also the "train-images.idx3-ubyte"
// spelling). Checks the magic numbers (2051 images, 2049 labels), equal counts and labels 0..9.
// Images come back as (N, 1, rows, cols).
LabelledImages load_mnist_split(const std::string& folder, DatasetSplit split);

}  // namespace ssmkit::io
