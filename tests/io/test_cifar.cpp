// CIFAR-10/100 binary readers and split loaders on generated batches.
#include <gtest/gtest.h>

#include <random>

#include "io/io_test_helpers.h"
#include "ssmkit/io/cifar.h"

namespace ssmkit::io {
namespace {

using ssmkit::testing::expect_input_error;
using ssmkit::testing::TempDir;
using ssmkit::testing::write_bytes;

struct Batch {
  std::string bytes;
  std::vector<int64_t> fine, coarse;
  std::vector<uint8_t> pixels;
};

Batch make_batch(int n, bool cifar100, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255), fine(0, cifar100 ? 99 : 9), coarse(0, 19);
  Batch batch;
  for (int r = 0; r < n; ++r) {
    if (cifar100) {
      batch.coarse.push_back(coarse(rng));
      batch.bytes += static_cast<char>(batch.coarse.back());
    }
    batch.fine.push_back(fine(rng));
    batch.bytes += static_cast<char>(batch.fine.back());
    for (int64_t p = 0; p < kCifarPixels; ++p) {
      batch.pixels.push_back(static_cast<uint8_t>(byte(rng)));
      batch.bytes += static_cast<char>(batch.pixels.back());
    }
  }
  return batch;
}

TEST(Cifar, LoadsCifar10Splits) {
  std::random_device rd;
  const unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "cifar-10-batches-bin");
  std::vector<int64_t> labels;
  std::vector<uint8_t> pixels;
  for (int b = 1; b <= 5; ++b) {
    const Batch batch = make_batch(b, false, rng);
    write_bytes(dir.file("cifar-10-batches-bin/data_batch_" + std::to_string(b) + ".bin"),
                batch.bytes);
    labels.insert(labels.end(), batch.fine.begin(), batch.fine.end());
    pixels.insert(pixels.end(), batch.pixels.begin(), batch.pixels.end());
  }
  const Batch test = make_batch(2, false, rng);
  write_bytes(dir.file("cifar-10-batches-bin/test_batch.bin"), test.bytes);

  const LabelledImages train = load_cifar10_split(dir.path().string(), DatasetSplit::train);
  train.images.expect(DType::uint8, {15, 3, 32, 32}, "images", "(N, C, H, W)");
  EXPECT_EQ(train.labels.to_vector<int64_t>(), labels);
  EXPECT_EQ(train.images.to_vector<uint8_t>(), pixels);
  EXPECT_EQ(train.coarse_labels.numel(), 0);
  EXPECT_EQ(train.num_classes, 10);
  const LabelledImages t =
      load_cifar10_split(dir.path().string() + "/cifar-10-batches-bin", DatasetSplit::test);
  EXPECT_EQ(t.labels.to_vector<int64_t>(), test.fine);
}

TEST(Cifar, LoadsCifar100WithCoarseLabels) {
  std::mt19937 rng(std::random_device{}());
  TempDir dir;
  const Batch batch = make_batch(3, true, rng);
  write_bytes(dir.file("train.bin"), batch.bytes);
  const LabelledImages train = load_cifar100_split(dir.path().string(), DatasetSplit::train);
  EXPECT_EQ(train.labels.to_vector<int64_t>(), batch.fine);
  EXPECT_EQ(train.coarse_labels.to_vector<int64_t>(), batch.coarse);
  EXPECT_EQ(train.images.to_vector<uint8_t>(), batch.pixels);
  EXPECT_EQ(train.num_classes, 100);
}

TEST(Cifar, RejectsBadBatches) {
  std::mt19937 rng(4);
  const Batch two = make_batch(2, false, rng);
  expect_input_error([] { decode_cifar10("", "b.bin"); }, {"b.bin", "empty file"});
  expect_input_error(
      [&] { decode_cifar10(two.bytes.substr(0, two.bytes.size() - 1), "b.bin"); },
      {"b.bin", "6145 bytes", "3073-byte CIFAR-10 records", "record 1 is truncated"});
  std::string bad_label = two.bytes;
  bad_label[3073] = 10;
  expect_input_error([&] { decode_cifar10(bad_label, "b.bin"); },
                     {"b.bin record 1", "byte offset 3073", "label 10", "expected 0..9"});
  std::string c100 = make_batch(1, true, rng).bytes;
  c100[0] = 20;
  expect_input_error([&] { decode_cifar100(c100, "c.bin"); },
                     {"c.bin record 0", "coarse label 20", "0..19"});
  c100[0] = 1;
  c100[1] = static_cast<char>(100);
  expect_input_error([&] { decode_cifar100(c100, "c.bin"); }, {"fine label 100", "0..99"});
  TempDir dir;
  expect_input_error([&] { load_cifar10_split(dir.path().string(), DatasetSplit::train); },
                     {"data_batch_1.bin", "missing CIFAR-10 batch file"});
}

}  // namespace
}  // namespace ssmkit::io
