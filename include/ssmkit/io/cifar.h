// CIFAR-10 and CIFAR-100 binary versions: fixed-size records of label byte(s) then a 32x32 RGB
// image stored channel by channel (1024 red, 1024 green, 1024 blue bytes).
#pragma once

#include <string>
#include <string_view>

#include "ssmkit/io/labelled_images.h"

namespace ssmkit::io {

// Record layouts: CIFAR-10 <label><3072 pixels>, CIFAR-100 <coarse label><fine label><3072 pixels>.
constexpr int64_t kCifarChannels = 3;
constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarPixels = kCifarChannels * kCifarSide * kCifarSide;
constexpr int64_t kCifar10RecordSize = 1 + kCifarPixels;
constexpr int64_t kCifar100RecordSize = 2 + kCifarPixels;

// Parses one binary batch. Images are (N, 3, 32, 32). Throws InputError naming `origin` for an
// empty input, a size that is not a whole number of records (naming the truncated record), and
// labels out of range (naming the record and its byte offset).
LabelledImages decode_cifar10(std::string_view bytes, const std::string& origin);
LabelledImages decode_cifar100(std::string_view bytes, const std::string& origin);

// Loads a split from `folder` (or its cifar-10-batches-bin / cifar-100-binary subfolder, as the
// archives unpack): CIFAR-10 train = data_batch_1..5.bin, test = test_batch.bin; CIFAR-100
// train.bin / test.bin.
LabelledImages load_cifar10_split(const std::string& folder, DatasetSplit split);
LabelledImages load_cifar100_split(const std::string& folder, DatasetSplit split);

}  // namespace ssmkit::io
