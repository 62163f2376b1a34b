// Image sets as pixel sequences.
#include "ssmkit/data/image_sequences.h"

#include <torch/torch.h>

#include <filesystem>

#include "ssmkit/data/array_tensor.h"
#include "ssmkit/data/image_classification_data.h"
#include "ssmkit/io/cifar.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/idx.h"

namespace ssmkit::data {
namespace {

namespace fs = std::filesystem;

// Per-channel mean and std of the pixels in [0, 1]: the constants example.py normalises with
// (MNIST, CIFAR-10 RGB and grayscale), and Fashion-MNIST's training-set values.
struct PixelStats {
  std::vector<double> mean;
  std::vector<double> std;
};
PixelStats pixel_stats(ImageSet set, bool grayscale) {
  switch (set) {
    case ImageSet::mnist:
      return {{0.1307}, {0.3081}};
    case ImageSet::fashion_mnist:
      return {{0.2860}, {0.3530}};
    case ImageSet::cifar10:
      if (grayscale) return {{122.6 / 255.0}, {61.0 / 255.0}};
      return {{0.4914, 0.4822, 0.4465}, {0.247, 0.243, 0.261}};
  }
  return {};
}

// ITU-R 601-2 luma, the weights of torchvision's Grayscale.
constexpr double kLumaRed = 0.299;
constexpr double kLumaGreen = 0.587;
constexpr double kLumaBlue = 0.114;
constexpr double kPixelMax = 255.0;

}  // namespace

std::optional<ImageSet> parse_image_set(const std::string& name) {
  if (name == "mnist") return ImageSet::mnist;
  if (name == "fashion_mnist" || name == "fashion-mnist") return ImageSet::fashion_mnist;
  if (name == "cifar10") return ImageSet::cifar10;
  return std::nullopt;
}

std::string image_set_name(ImageSet set) {
  switch (set) {
    case ImageSet::mnist:
      return "mnist";
    case ImageSet::fashion_mnist:
      return "fashion_mnist";
    case ImageSet::cifar10:
      return "cifar10";
  }
  return "";
}

std::string default_image_data_dir(ImageSet set) {
  return set == ImageSet::fashion_mnist ? kDebianFashionMnistDir : "";
}

std::vector<std::string> image_class_names(ImageSet set) {
  if (set == ImageSet::mnist) return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  // Fashion-MNIST's and CIFAR-10's names, as the image classification data sets name them.
  return image_class_names(image_set_name(set));
}

io::LabelledImages load_image_set(ImageSet set, const std::string& data_dir,
                                  io::DatasetSplit split) {
  const std::string name = image_set_name(set);
  if (data_dir.empty()) {
    throw InputError(
        "--data_dir: needed for --dataset " + name + " (" +
        (set == ImageSet::cifar10 ? "the CIFAR-10 binary batches" : "the MNIST IDX files") + ")");
  }
  if (!fs::is_directory(data_dir)) {
    throw InputError("--data_dir: " + data_dir + " is not a folder (--dataset " + name + ")");
  }
  if (set == ImageSet::cifar10) return io::load_cifar10_split(data_dir, split);
  try {
    return io::load_mnist_split(data_dir, split);
  } catch (const InputError& e) {
    const bool missing_train_images =
        set == ImageSet::mnist && split == io::DatasetSplit::train &&
        !fs::exists(fs::path(data_dir) / "train-images-idx3-ubyte") &&
        !fs::exists(fs::path(data_dir) / "train-images-idx3-ubyte.gz");
    if (!missing_train_images) throw;
    throw InputError("--data_dir: " + data_dir +
                     " has no train-images-idx3-ubyte[.gz]: the full MNIST training images are not "
                     "shipped with ssmkit's data (only the test split and the training labels); "
                     "put the file there, or use --dataset fashion_mnist");
  }
}

LabelledSequences image_sequences(const io::LabelledImages& images, ImageSet set, bool grayscale) {
  at::Tensor pixels = to_tensor(images.images).to(torch::kFloat) / kPixelMax;  // (N, C, H, W)
  const bool to_gray = grayscale && pixels.size(1) == 3;
  if (to_gray) {
    pixels = (pixels.select(1, 0) * kLumaRed + pixels.select(1, 1) * kLumaGreen +
              pixels.select(1, 2) * kLumaBlue)
                 .unsqueeze(1);
  }
  const PixelStats stats = pixel_stats(set, to_gray);
  const int64_t channels = pixels.size(1);
  TORCH_CHECK(static_cast<int64_t>(stats.mean.size()) == channels,
              "image_sequences: ", image_set_name(set), " has ", channels, " channels");
  const at::Tensor mean = torch::tensor(stats.mean, torch::kFloat).view({1, channels, 1, 1});
  const at::Tensor std = torch::tensor(stats.std, torch::kFloat).view({1, channels, 1, 1});
  pixels = (pixels - mean) / std;
  // (N, C, H, W) -> (N, H*W, C): one step per pixel in raster order.
  at::Tensor inputs = pixels.flatten(2).transpose(1, 2).contiguous();
  return {inputs, to_tensor(images.labels).to(torch::kLong)};
}

}  // namespace ssmkit::data
