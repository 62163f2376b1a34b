// Image classification sets read as sequences, as the S4 repository's example does: pixels
// flattened in raster order, one step per pixel (MNIST and Fashion-MNIST 784 steps x 1 channel,
// CIFAR-10 1024 steps x 3 channels or x 1 grayscale), standardised with each set's usual mean and
// std.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ssmkit/data/dataset_locations.h"
#include "ssmkit/data/labelled_sequences.h"
#include "ssmkit/io/labelled_images.h"

namespace ssmkit::data {

enum class ImageSet { mnist, fashion_mnist, cifar10 };

// "mnist", "fashion_mnist" (also "fashion-mnist"), "cifar10"; nullopt for anything else.
std::optional<ImageSet> parse_image_set(const std::string& name);
std::string image_set_name(ImageSet set);
// The folder read when none is given: Debian's for Fashion-MNIST, "" (none) for the others.
std::string default_image_data_dir(ImageSet set);
std::vector<std::string> image_class_names(ImageSet set);

// Loads one split from `data_dir` (IDX files for MNIST and Fashion-MNIST, binary batches for
// CIFAR-10). InputError naming the folder when files are missing; for the MNIST training split it
// also says that only the test split and the training labels come with ssmkit's data.
io::LabelledImages load_image_set(ImageSet set, const std::string& data_dir,
                                  io::DatasetSplit split);

// (N, C, H, W) uint8 -> inputs (N, H*W, C') float32 standardised, targets (N) int64; C' = 1 with
// `grayscale` (ITU-R 601 luma of RGB, as torchvision's Grayscale), else C.
LabelledSequences image_sequences(const io::LabelledImages& images, ImageSet set, bool grayscale);

}  // namespace ssmkit::data
