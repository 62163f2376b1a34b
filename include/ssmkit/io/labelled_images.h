// A split of an image classification data set as the readers return it.
#pragma once

#include "ssmkit/io/nd_array.h"

namespace ssmkit::io {

enum class DatasetSplit { train, test };

struct LabelledImages {
  NdArray images;         // (N, C, H, W) uint8, channels first
  NdArray labels;         // (N,) int64 class indices (CIFAR-100: the fine labels)
  NdArray coarse_labels;  // (N,) int64 CIFAR-100 superclasses; empty (0,) for other data sets
  int64_t num_classes = 0;

  int64_t size() const { return labels.numel(); }
};

}  // namespace ssmkit::io
