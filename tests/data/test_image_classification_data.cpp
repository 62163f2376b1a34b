// Image data sets by name (generated CIFAR-10 batches in the real binary format) and the batched
// image pipeline: the held-out split, class names, the missing-data message, normalisation, and
// crops and flips that depend only on (seed, epoch, batch, example).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "ssmkit/data/image_batch_source.h"
#include "ssmkit/data/image_classification_data.h"
#include "ssmkit/io/error.h"
#include "test_temp_dir.h"

namespace ssmkit::data {
namespace {

void write_cifar10_batches(const std::filesystem::path& folder, int per_batch) {
  std::filesystem::create_directories(folder);
  const auto write = [&](const std::string& name, int first_label) {
    std::ofstream out(folder / name, std::ios::binary);
    for (int i = 0; i < per_batch; ++i) {
      out.put(static_cast<char>((first_label + i) % 10));
      for (int p = 0; p < 3072; ++p)
        out.put(static_cast<char>((i + p) % 251));
    }
  };
  for (int b = 1; b <= 5; ++b)
    write("data_batch_" + std::to_string(b) + ".bin", b);
  write("test_batch.bin", 0);
}

TEST(ImageClassificationData, Cifar10SplitsAndClassNames) {
  testing::TempDir dir;
  write_cifar10_batches(dir.path() / "cifar-10-batches-bin", 8);
  ImageDataOptions options;
  options.dataset = "cifar10";
  options.data_dir = dir.path().string();
  options.val_fraction = 0.25;
  const ImageClassificationData data = load_image_classification_data(options);
  EXPECT_EQ(data.train.size(), 30);
  EXPECT_EQ(data.val.size(), 10);
  EXPECT_EQ(data.test.size(), 8);
  EXPECT_EQ(data.train.images.sizes(), (std::vector<int64_t>{30, 3, 32, 32}));
  EXPECT_EQ(data.channels, 3);
  EXPECT_EQ(data.image_size, 32);
  EXPECT_EQ(data.class_names.front(), "airplane");
  // The same seed holds out the same images.
  const ImageClassificationData again = load_image_classification_data(options);
  EXPECT_TRUE(torch::equal(again.val.images, data.val.images));
  EXPECT_EQ(image_class_names("cifar100").size(), 100u);
  EXPECT_EQ(image_class_names("cifar100", "coarse").size(), 20u);
  EXPECT_EQ(image_class_names("fashion_mnist")[9], "Ankle boot");
}

TEST(ImageClassificationData, MissingFilesNameWhatIsExpected) {
  ImageDataOptions options;
  options.dataset = "cifar100";
  options.data_dir = "/nonexistent/cifar";
  try {
    load_image_classification_data(options);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("--data.data_dir: /nonexistent/cifar holds no cifar100 data"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("train.bin and test.bin"), std::string::npos) << message;
    EXPECT_NE(message.find("cifar-100-binary.tar.gz"), std::string::npos) << message;
  }
  options.dataset = "svhn";
  EXPECT_THROW(load_image_classification_data(options), InputError);
}

TEST(ImageBatchSource, NormalisesAndAugmentsReproducibly) {
  const at::Tensor images = torch::randint(0, 256, {6, 1, 5, 5}, torch::kInt64).to(torch::kUInt8);
  const at::Tensor labels = torch::arange(6);
  ImageBatchOptions options;
  options.batches.batch_size = 6;
  options.mean = {0.5};
  options.std = {0.25};
  ImageBatchSource plain(images, labels, options);
  plain.reset(1);
  Batch batch;
  ASSERT_TRUE(plain.next(batch));
  EXPECT_TRUE(torch::allclose(batch.inputs, (images.to(torch::kFloat32) / 255 - 0.5) / 0.25));

  options.augmentation.crop_padding = 2;
  options.augmentation.horizontal_flip = true;
  ImageBatchSource augmented(images, labels, options);
  const auto pass = [&](int64_t epoch) {
    augmented.reset(epoch);
    Batch b;
    EXPECT_TRUE(augmented.next(b));
    return b.inputs;
  };
  const at::Tensor first = pass(1);
  EXPECT_TRUE(torch::equal(first, pass(1)));
  EXPECT_FALSE(torch::equal(first, pass(2)));
  // Every output is a 5x5 window of the zero-padded (then normalised) image, maybe mirrored.
  const at::Tensor padded =
      torch::constant_pad_nd(images.to(torch::kFloat32) / 255, {2, 2, 2, 2}, 0.0);
  for (int64_t i = 0; i < 6; ++i) {
    const at::Tensor out = first[i] * 0.25 + 0.5;
    bool found = false;
    for (int64_t top = 0; top <= 4 && !found; ++top) {
      for (int64_t left = 0; left <= 4 && !found; ++left) {
        const at::Tensor window = padded[i].narrow(1, top, 5).narrow(2, left, 5);
        found = torch::allclose(out, window, 1e-5, 1e-6) ||
                torch::allclose(out, window.flip({2}), 1e-5, 1e-6);
      }
    }
    EXPECT_TRUE(found) << "example " << i;
  }
}

}  // namespace
}  // namespace ssmkit::data
