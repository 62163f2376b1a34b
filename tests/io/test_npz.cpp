// .npz archives: stored and deflated round trips, atomic writes, rejected archives.
#include <gtest/gtest.h>

#include <random>

#include "io/io_test_helpers.h"
#include "ssmkit/io/file_bytes.h"
#include "ssmkit/io/npz.h"

namespace ssmkit::io {
namespace {

using ssmkit::testing::expect_input_error;
using ssmkit::testing::TempDir;
using ssmkit::testing::write_bytes;

Npz sample_npz(std::mt19937& rng) {
  std::normal_distribution<double> normal;
  std::vector<float> x(2 * 5 * 3);
  for (float& v : x)
    v = static_cast<float>(normal(rng));
  std::vector<double> mean(3);
  for (double& v : mean)
    v = normal(rng);
  Npz npz;
  npz.set("X_train", NdArray::from_values<float>({2, 5, 3}, x));
  npz.set("scaler_mean", NdArray::from_values<double>({3}, mean));
  npz.set("t_train", NdArray::from_values<int64_t>({2}, {1467331200, 1467334800}));
  npz.set("columns", StringArray({"HUFL", "OT", "temp\xC3\xA9"}));
  return npz;
}

TEST(Npz, StoredAndDeflatedRoundTrip) {
  std::random_device rd;
  const unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const Npz npz = sample_npz(rng);
  TempDir dir;
  for (const NpzCompression compression : {NpzCompression::stored, NpzCompression::deflated}) {
    const std::string path = dir.file("a.npz");
    write_npz(path, npz, compression);
    const Npz back = read_npz(path);
    EXPECT_EQ(back.names(), npz.names());
    for (const auto& [name, array] : npz.entries())
      EXPECT_TRUE(back.get(name) == array) << name;
    EXPECT_EQ(back.strings("columns").values[2], "temp\xC3\xA9");
    EXPECT_EQ(back.array("t_train").data<int64_t>()[1], 1467334800);
  }
  EXPECT_EQ(dir.count_entries(), 1u) << "no temporary files left behind";
}

TEST(Npz, EmptyArchiveRoundTrips) {
  TempDir dir;
  write_npz(dir.file("empty.npz"), Npz());
  EXPECT_EQ(read_npz(dir.file("empty.npz")).size(), 0u);
}

TEST(Npz, MissingOrWrongKindOfMemberIsNamed) {
  std::mt19937 rng(1);
  TempDir dir;
  write_npz(dir.file("a.npz"), sample_npz(rng));
  const Npz npz = read_npz(dir.file("a.npz"));
  expect_input_error([&] { npz.array("X_val"); }, {"a.npz", "no array 'X_val'", "'X_train'"});
  expect_input_error([&] { npz.array("columns"); }, {"a.npz", "'columns'", "holds strings"});
  expect_input_error([&] { npz.strings("X_train"); }, {"'X_train'", "numeric array"});
}

TEST(Npz, RejectsBrokenArchives) {
  std::mt19937 rng(2);
  TempDir dir;
  write_npz(dir.file("good.npz"), sample_npz(rng), NpzCompression::deflated);
  const std::string good = read_file_bytes(dir.file("good.npz"));
  const auto reject = [&](const std::string& bytes, std::initializer_list<std::string> fragments) {
    const std::string path = write_bytes(dir.file("bad.npz"), bytes);
    expect_input_error([&] { read_npz(path); }, fragments);
  };
  reject("", {"bad.npz", "empty file"});
  reject("this is not a zip file at all, just some text", {"bad.npz", "not a valid .npz"});
  reject(good.substr(0, good.size() / 2), {"bad.npz"});
  // Corrupt the deflated data of the first member (it starts after its 30-byte local header and
  // name); the zip's CRC or the inflater must notice.
  std::string corrupt = good;
  for (size_t i = 60; i < 90; ++i)
    corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5A);
  reject(corrupt, {"bad.npz", "member 'X_train.npy'"});
  expect_input_error([&] { read_npz(dir.file("none.npz")); }, {"none.npz", "cannot open"});
  expect_input_error([&] { write_npz(dir.file("no/such/folder/x.npz"), Npz()); },
                     {"does not exist"});
}

}  // namespace
}  // namespace ssmkit::io
