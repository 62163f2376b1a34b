// Image classification data sets by name: Fashion-MNIST, CIFAR-10, CIFAR-100.
#include "ssmkit/data/image_classification_data.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <filesystem>

#include "ssmkit/data/array_tensor.h"
#include "ssmkit/io/cifar.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/idx.h"

namespace ssmkit::data {
namespace {

namespace fs = std::filesystem;

struct DatasetInfo {
  const char* name;
  const char* files;   // what the folder must hold, for the missing-data message
  const char* where;   // where to get them
  const char* probe;   // one file whose presence means the folder is right
  const char* nested;  // the folder the archive unpacks to, also looked in
  const char* default_dir;
};

const DatasetInfo kDatasets[] = {
    {"fashion_mnist",
     "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
     "t10k-labels-idx1-ubyte (each may end in .gz)",
     "apt-get install dataset-fashion-mnist, or the files of "
     "https://github.com/zalandoresearch/fashion-mnist",
     "train-images-idx3-ubyte", "", kDebianFashionMnistDir},
    {"cifar10", "data_batch_1.bin ... data_batch_5.bin and test_batch.bin",
     "cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, unpacked",
     "test_batch.bin", "cifar-10-batches-bin", "./data/cifar10"},
    {"cifar100", "train.bin and test.bin",
     "cifar-100-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, unpacked",
     "test.bin", "cifar-100-binary", "./data/cifar100"},
};

const char* const kFashionMnistNames[] = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                          "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                          "Bag",         "Ankle boot"};
const char* const kCifar10Names[] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                     "dog",      "frog",       "horse", "ship", "truck"};
const char* const kCifar100FineNames[] = {
    "apple",       "aquarium_fish", "baby",      "bear",       "beaver",       "bed",
    "bee",         "beetle",        "bicycle",   "bottle",     "bowl",         "boy",
    "bridge",      "bus",           "butterfly", "camel",      "can",          "castle",
    "caterpillar", "cattle",        "chair",     "chimpanzee", "clock",        "cloud",
    "cockroach",   "couch",         "crab",      "crocodile",  "cup",          "dinosaur",
    "dolphin",     "elephant",      "flatfish",  "forest",     "fox",          "girl",
    "hamster",     "house",         "kangaroo",  "keyboard",   "lamp",         "lawn_mower",
    "leopard",     "lion",          "lizard",    "lobster",    "man",          "maple_tree",
    "motorcycle",  "mountain",      "mouse",     "mushroom",   "oak_tree",     "orange",
    "orchid",      "otter",         "palm_tree", "pear",       "pickup_truck", "pine_tree",
    "plain",       "plate",         "poppy",     "porcupine",  "possum",       "rabbit",
    "raccoon",     "ray",           "road",      "rocket",     "rose",         "sea",
    "seal",        "shark",         "shrew",     "skunk",      "skyscraper",   "snail",
    "snake",       "spider",        "squirrel",  "streetcar",  "sunflower",    "sweet_pepper",
    "table",       "tank",          "telephone", "television", "tiger",        "tractor",
    "train",       "trout",         "tulip",     "turtle",     "wardrobe",     "whale",
    "willow_tree", "wolf",          "woman",     "worm"};
const char* const kCifar100CoarseNames[] = {"aquatic_mammals",
                                            "fish",
                                            "flowers",
                                            "food_containers",
                                            "fruit_and_vegetables",
                                            "household_electrical_devices",
                                            "household_furniture",
                                            "insects",
                                            "large_carnivores",
                                            "large_man-made_outdoor_things",
                                            "large_natural_outdoor_scenes",
                                            "large_omnivores_and_herbivores",
                                            "medium_mammals",
                                            "non-insect_invertebrates",
                                            "people",
                                            "reptiles",
                                            "small_mammals",
                                            "trees",
                                            "vehicles_1",
                                            "vehicles_2"};

const DatasetInfo& info_of(const std::string& dataset) {
  for (const DatasetInfo& info : kDatasets) {
    if (dataset == info.name) return info;
  }
  throw InputError(
      "--data.dataset: '" + dataset + "' is unknown, expected one of " + image_dataset_names(),
      "data.dataset");
}

template <size_t N>
std::vector<std::string> names_of(const char* const (&names)[N]) {
  return std::vector<std::string>(names, names + N);
}

// The folder's data files are there (also gzip-compressed or in the archive's own subfolder);
// else the one error that says what is expected and where to get it.
void check_folder(const DatasetInfo& info, const std::string& folder, const std::string& flag) {
  const fs::path root(folder);
  for (const fs::path& candidate : {root / info.probe, root / (std::string(info.probe) + ".gz"),
                                    root / info.nested / info.probe}) {
    if (fs::exists(candidate)) return;
  }
  throw InputError(flag + ": " + folder + " holds no " + info.name + " data: expected " +
                   info.files + " there; get them with " + info.where + " (nothing is downloaded)");
}

ImageSplit to_split(const io::LabelledImages& images, bool coarse) {
  return {to_tensor(images.images), to_tensor(coarse ? images.coarse_labels : images.labels)};
}

ImageSplit rows(const ImageSplit& split, const at::Tensor& index) {
  return {split.images.index_select(0, index), split.labels.index_select(0, index)};
}

}  // namespace

const ImageSplit& ImageClassificationData::split(const std::string& name) const {
  if (name == "train") return train;
  if (name == "val") return val;
  if (name == "test") return test;
  throw InputError("--split: '" + name + "' is unknown, expected train, val or test", "split");
}

std::string image_dataset_names() {
  std::string names;
  for (const DatasetInfo& info : kDatasets)
    names += std::string(names.empty() ? "" : ", ") + info.name;
  return names;
}

std::string default_image_data_dir(const std::string& dataset) {
  return info_of(dataset).default_dir;
}

std::vector<std::string> image_class_names(const std::string& dataset,
                                           const std::string& label_mode) {
  (void)info_of(dataset);
  if (dataset == "fashion_mnist") return names_of(kFashionMnistNames);
  if (dataset == "cifar10") return names_of(kCifar10Names);
  if (label_mode == "coarse") return names_of(kCifar100CoarseNames);
  if (label_mode == "fine") return names_of(kCifar100FineNames);
  throw InputError("--data.label_mode: '" + label_mode + "' is unknown, expected fine or coarse",
                   "data.label_mode");
}

ImageClassificationData load_image_classification_data(const ImageDataOptions& options) {
  const DatasetInfo& info = info_of(options.dataset);
  if (!(options.val_fraction >= 0.0 && options.val_fraction < 1.0)) {
    throw InputError(
        "--data.val_fraction: must be in [0, 1), got " + std::to_string(options.val_fraction),
        "data.val_fraction");
  }
  ImageClassificationData data;
  data.dataset = options.dataset;
  data.data_dir = options.data_dir.empty() ? info.default_dir : options.data_dir;
  data.class_names = image_class_names(options.dataset, options.label_mode);
  check_folder(info, data.data_dir, options.flag);
  const bool coarse = options.dataset == "cifar100" && options.label_mode == "coarse";
  ImageSplit full_train;
  for (const io::DatasetSplit which : {io::DatasetSplit::train, io::DatasetSplit::test}) {
    io::LabelledImages loaded;
    if (options.dataset == "fashion_mnist") {
      loaded = io::load_mnist_split(data.data_dir, which);
    } else if (options.dataset == "cifar10") {
      loaded = io::load_cifar10_split(data.data_dir, which);
    } else {
      loaded = io::load_cifar100_split(data.data_dir, which);
    }
    (which == io::DatasetSplit::train ? full_train : data.test) = to_split(loaded, coarse);
  }
  data.channels = full_train.images.size(1);
  data.image_size = full_train.images.size(2);
  // A seeded permutation picks the held-out images, so a resumed run or evaluate_model --split val
  // sees the same ones.
  const int64_t n = full_train.size();
  const int64_t held_out = static_cast<int64_t>(static_cast<double>(n) * options.val_fraction);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const at::Tensor order = torch::randperm(n, generator, torch::kInt64);
  data.val = rows(full_train, std::get<0>(order.slice(0, 0, held_out).sort()));
  data.train = rows(full_train, std::get<0>(order.slice(0, held_out).sort()));
  return data;
}

}  // namespace ssmkit::data
