// IDX reader (plain and gzip) and the MNIST split loader, with rejected files.
#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

#include "io/io_test_helpers.h"
#include "ssmkit/io/idx.h"

namespace ssmkit::io {
namespace {

using ssmkit::testing::expect_input_error;
using ssmkit::testing::TempDir;
using ssmkit::testing::write_bytes;

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// gzip-compresses `data` with zlib's file API, as the real .gz files are made.
void write_gzip(const std::string& path, const std::string& data) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, data.data(), static_cast<unsigned>(data.size())),
            static_cast<int>(data.size()));
  gzclose(file);
}

struct IdxPair {
  std::string images, labels;
  std::vector<uint8_t> pixels, label_values;
};

IdxPair make_pair(int n, int rows, int cols, std::mt19937& rng) {
  IdxPair pair;
  pair.images = be32(kIdxImagesMagic) + be32(n) + be32(rows) + be32(cols);
  pair.labels = be32(kIdxLabelsMagic) + be32(n);
  std::uniform_int_distribution<int> pixel(0, 255), label(0, 9);
  for (int i = 0; i < n * rows * cols; ++i)
    pair.pixels.push_back(static_cast<uint8_t>(pixel(rng)));
  for (int i = 0; i < n; ++i)
    pair.label_values.push_back(static_cast<uint8_t>(label(rng)));
  pair.images += std::string(pair.pixels.begin(), pair.pixels.end());
  pair.labels += std::string(pair.label_values.begin(), pair.label_values.end());
  return pair;
}

TEST(Idx, ReadsPlainAndGzipAndMnistSplits) {
  std::random_device rd;
  const unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  TempDir dir;
  const IdxPair train = make_pair(5, 4, 3, rng);
  const IdxPair test = make_pair(2, 4, 3, rng);
  write_gzip(dir.file("train-images-idx3-ubyte.gz"), train.images);
  write_gzip(dir.file("train-labels-idx1-ubyte.gz"), train.labels);
  write_bytes(dir.file("t10k-images.idx3-ubyte"), test.images);
  write_bytes(dir.file("t10k-labels-idx1-ubyte"), test.labels);

  const NdArray images = read_idx(dir.file("train-images-idx3-ubyte.gz"));
  EXPECT_EQ(images.shape(), (std::vector<int64_t>{5, 4, 3}));
  EXPECT_EQ(images.to_vector<uint8_t>(), train.pixels);

  const LabelledImages loaded = load_mnist_split(dir.path().string(), DatasetSplit::train);
  loaded.images.expect(DType::uint8, {5, 1, 4, 3}, "images", "(N, 1, H, W)");
  loaded.labels.expect(DType::int64, {5}, "labels", "(N,)");
  EXPECT_EQ(loaded.images.to_vector<uint8_t>(), train.pixels);
  EXPECT_EQ(loaded.labels.to_vector<uint8_t>(), train.label_values);
  EXPECT_EQ(loaded.num_classes, 10);
  const LabelledImages t10k = load_mnist_split(dir.path().string(), DatasetSplit::test);
  EXPECT_EQ(t10k.labels.to_vector<uint8_t>(), test.label_values);
}

TEST(Idx, DecodesOtherElementTypesBigEndian) {
  const std::string ints =
      be32(0x00000C02) + be32(1) + be32(2) + be32(static_cast<uint32_t>(-5)) + be32(70000);
  EXPECT_EQ(decode_idx(ints, "mem").to_vector<int32_t>(), (std::vector<int32_t>{-5, 70000}));
  const std::string floats = be32(0x00000D01) + be32(1) + be32(0x3FC00000);  // 1.5f
  EXPECT_EQ(decode_idx(floats, "mem").to_vector<float>(), std::vector<float>{1.5f});
}

TEST(Idx, RejectsBadFiles) {
  TempDir dir;
  std::mt19937 rng(3);
  const IdxPair pair = make_pair(3, 2, 2, rng);
  const auto reject = [&](const std::string& bytes, std::initializer_list<std::string> fragments) {
    const std::string path = write_bytes(dir.file("bad-idx"), bytes);
    expect_input_error([&] { read_idx(path); }, fragments);
  };
  reject("", {"bad-idx", "empty file"});
  reject(std::string("\x00\x00", 2), {"bad-idx", "truncated IDX header"});
  reject(std::string("\x01\x02\x08\x03", 4) + pair.images.substr(4),
         {"bad IDX magic number 0x01020803"});
  reject(std::string("\x00\x00\x0B\x01", 4) + be32(1) + "ab", {"unsupported IDX element type"});
  reject(std::string("\x00\x00\x08\x00", 4), {"rank 0"});
  reject(pair.images.substr(0, 10), {"truncated IDX header", "rank 3 needs 16"});
  reject(pair.images.substr(0, pair.images.size() - 1),
         {"truncated IDX data", "(3, 2, 2)", "needs 12 bytes", "found 11"});
  reject(pair.images + "x", {"trailing bytes", "found 13"});
  reject(be32(kIdxLabelsMagic) + be32(0), {"dimension 0 is 0"});
  // Truncated and corrupted gzip streams.
  write_gzip(dir.file("good.gz"), pair.images);
  std::ifstream in(dir.file("good.gz"), std::ios::binary);
  const std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  reject(gz.substr(0, gz.size() - 12), {"bad-idx", "gzip"});
  std::string corrupt = gz;
  corrupt[12] = static_cast<char>(corrupt[12] ^ 0xFF);
  corrupt[13] = static_cast<char>(corrupt[13] ^ 0xFF);
  reject(corrupt, {"bad-idx", "gzip"});

  // Split loader: magic numbers swapped, count mismatch, label out of range, missing files.
  const std::string folder = dir.path().string();
  write_bytes(dir.file("train-images-idx3-ubyte"), pair.labels);
  write_bytes(dir.file("train-labels-idx1-ubyte"), pair.labels);
  expect_input_error([&] { load_mnist_split(folder, DatasetSplit::train); },
                     {"train-images-idx3-ubyte", "bad magic number 0x00000801", "expected 2051"});
  write_bytes(dir.file("train-images-idx3-ubyte"), pair.images);
  write_bytes(dir.file("train-labels-idx1-ubyte"), be32(kIdxLabelsMagic) + be32(2) + "\x01\x02");
  expect_input_error([&] { load_mnist_split(folder, DatasetSplit::train); },
                     {"2 labels for 3 images"});
  write_bytes(dir.file("train-labels-idx1-ubyte"),
              be32(kIdxLabelsMagic) + be32(3) + "\x01\x0C\x02");
  expect_input_error([&] { load_mnist_split(folder, DatasetSplit::train); },
                     {"label 12 of item 1", "byte offset 9"});
  expect_input_error([&] { load_mnist_split(folder, DatasetSplit::test); },
                     {"no t10k images file", "t10k-images-idx3-ubyte.gz"});
}

}  // namespace
}  // namespace ssmkit::io
