// The image classification data sets of train_vision_mamba and evaluate_model, loaded by name from
// a folder: "fashion_mnist" (IDX files, by default where Debian's dataset-fashion-mnist package
// installs them), "cifar10" and "cifar100" (the official binary batches; CIFAR-100 with its fine
// or coarse labels). The training split is cut into train and val (a seeded, fixed fraction);
// test is the data set's own test split. A missing folder or file is one InputError that names
// the flag, the files expected and where to get them.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ssmkit/data/dataset_locations.h"

namespace ssmkit::data {

struct ImageDataOptions {
  std::string dataset;                   // fashion_mnist | cifar10 | cifar100
  std::string data_dir;                  // empty: default_image_data_dir(dataset)
  std::string label_mode = "fine";       // cifar100 only: fine (100 classes) | coarse (20)
  double val_fraction = 0.1;             // of the training split held out for validation
  uint64_t seed = 0;                     // decides which training images are held out
  std::string flag = "--data.data_dir";  // named in errors about the folder
};

struct ImageSplit {
  at::Tensor images;  // (N, C, H, W) uint8
  at::Tensor labels;  // (N) int64
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

struct ImageClassificationData {
  std::string dataset;
  std::string data_dir;  // the folder read
  ImageSplit train, val, test;
  std::vector<std::string> class_names;  // one per class
  int64_t channels = 0;
  int64_t image_size = 0;  // H = W
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
  // "train", "val" or "test"; InputError naming --split otherwise.
  const ImageSplit& split(const std::string& name) const;
};

// Known data set names, for messages: "fashion_mnist, cifar10, cifar100".
std::string image_dataset_names();
std::string default_image_data_dir(const std::string& dataset);
// The class names of a data set (CIFAR-100: `label_mode` fine or coarse).
std::vector<std::string> image_class_names(const std::string& dataset,
                                           const std::string& label_mode = "fine");

ImageClassificationData load_image_classification_data(const ImageDataOptions& options);

}  // namespace ssmkit::data
