// .npy encoding/decoding: every dtype round-trips, numpy's header variants parse, bad files are
// rejected with the file, offset and expectation in the message.
#include <gtest/gtest.h>

#include <random>

#include "io/io_test_helpers.h"
#include "ssmkit/io/npy.h"

namespace ssmkit::io {
namespace {

using ssmkit::testing::expect_input_error;
using ssmkit::testing::TempDir;
using ssmkit::testing::write_bytes;

template <typename T>
NdArray random_array(std::vector<int64_t> shape, std::mt19937& rng) {
  int64_t n = 1;
  for (const int64_t d : shape)
    n *= d;
  std::vector<T> values(static_cast<size_t>(n));
  std::uniform_int_distribution<int> dist(-100, 100);
  for (T& v : values)
    v = static_cast<T>(dist(rng) * (std::is_floating_point_v<T> ? 0.37 : 1));
  return NdArray::from_values<T>(std::move(shape), values);
}

// A .npy file assembled by hand: version 1.0 preamble around `header`, then `data`.
std::string handmade_npy(const std::string& header, const std::string& data, int major = 1) {
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const size_t length = header.size();
  const int length_bytes = major == 1 ? 2 : 4;
  for (int b = 0; b < length_bytes; ++b)
    out += static_cast<char>(length >> (8 * b));
  return out + header + data;
}

TEST(Npy, EveryDtypeRoundTripsThroughAFile) {
  std::random_device rd;
  const unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  TempDir dir;
  const std::vector<NdArray> arrays = {random_array<float>({3, 4}, rng),
                                       random_array<double>({2, 3, 5}, rng),
                                       random_array<int64_t>({7}, rng),
                                       random_array<int32_t>({1, 1}, rng),
                                       random_array<uint8_t>({0, 3}, rng),
                                       random_array<int8_t>({4}, rng),
                                       NdArray::from_values<bool>({2}, {true, false}),
                                       random_array<double>({}, rng)};
  for (const NdArray& array : arrays) {
    const std::string path = dir.file("a.npy");
    write_npy(path, array);
    const NdArray back = read_npy(path);
    EXPECT_EQ(back.dtype(), array.dtype());
    EXPECT_EQ(back.shape(), array.shape());
    EXPECT_TRUE(back == array) << dtype_name(array.dtype());
  }
  EXPECT_EQ(dir.count_entries(), 1u) << "no temporary files left behind";
}

TEST(Npy, HeaderIsNumpyStyleAndAligned) {
  const std::string bytes = encode_npy(NdArray(DType::float32, {3}));
  const std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  EXPECT_EQ(bytes.substr(10, header.size()), header);
  EXPECT_EQ((bytes.size() - 12) % 64, 0u) << "header padded to 64 bytes";
  EXPECT_EQ(bytes[bytes.size() - 12 - 1], '\n');
  const std::string scalar = encode_npy(NdArray(DType::int64, {}));
  EXPECT_NE(scalar.find("'shape': (), }"), std::string::npos);
}

TEST(Npy, StringsRoundTripAsUtf32) {
  const StringArray strings({"date", "temp\xC3\xA9rature", "", "\xF0\x9F\x93\x88"});
  const std::string bytes = encode_npy(strings);
  EXPECT_NE(bytes.find("'descr': '<U11'"), std::string::npos);
  const NpyArray back = decode_npy(bytes, "mem");
  EXPECT_TRUE(string_array(back, "mem") == strings);
  expect_input_error([&] { numeric_array(back, "mem"); }, {"mem", "holds strings"});
  expect_input_error([] { encode_npy(StringArray({std::string("\xC3", 1)})); }, {"UTF-8"});
}

TEST(Npy, ParsesHeaderVariantsNumpyWrites) {
  const float values[2] = {1.5f, -2.0f};
  const std::string data(reinterpret_cast<const char*>(values), sizeof(values));
  // Version 2.0, double quotes, Python 2 long suffix, extra blanks, no trailing comma.
  const std::string v2 =
      handmade_npy("{\"descr\": \"<f4\",  \"shape\": (2L,) ,'fortran_order':False}    \n", data, 2);
  const NdArray a = numeric_array(decode_npy(v2, "v2"), "v2");
  EXPECT_EQ(a.shape(), std::vector<int64_t>{2});
  EXPECT_EQ(a.data<float>()[1], -2.0f);
  // Version 3.0 (utf-8 header) with '=' byte order.
  const NdArray b = numeric_array(
      decode_npy(
          handmade_npy("{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }\n", data, 3),
          "v3"),
      "v3");
  EXPECT_TRUE(a == b);
}

TEST(Npy, ConvertsFortranOrderAndBigEndianToCOrder) {
  // [[1, 2, 3], [4, 5, 6]] stored column by column, as big-endian int32.
  const int32_t column_major[6] = {1, 4, 2, 5, 3, 6};
  std::string data;
  for (const int32_t v : column_major) {
    for (int b = 3; b >= 0; --b)
      data += static_cast<char>(v >> (8 * b));
  }
  const NdArray a = numeric_array(
      decode_npy(handmade_npy("{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3), }\n", data),
                 "f"),
      "f");
  EXPECT_EQ(a.to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
}

TEST(Npy, RejectsBadFilesNamingFileAndPosition) {
  TempDir dir;
  const std::string good = encode_npy(NdArray::from_values<float>({2, 2}, {1, 2, 3, 4}));
  const auto reject = [&](const std::string& bytes, std::initializer_list<std::string> fragments) {
    const std::string path = write_bytes(dir.file("bad.npy"), bytes);
    expect_input_error([&] { read_npy(path); }, fragments);
  };
  reject("", {"bad.npy", "not a .npy file", "empty"});
  reject("PK\x03\x04 not numpy at all", {"bad.npy", "magic string"});
  std::string bad_version = good;
  bad_version[6] = 9;
  reject(bad_version, {"version 9.0", "byte offset 6"});
  reject(good.substr(0, 40), {"truncated .npy header"});
  reject(good.substr(0, good.size() - 3),
         {"truncated .npy data", "(2, 2)", "needs 16 bytes", "found 13"});
  reject(good + "xx", {"trailing bytes", "found 18"});
  reject(handmade_npy("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }\n", "ab"),
         {"unsupported .npy dtype '<f2'"});
  reject(
      handmade_npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n", "abcd"),
      {"structured"});
  reject(handmade_npy("{'descr': '<f4', 'shape': (1,), }\n", "abcd"), {"lacks 'fortran_order'"});
  reject(handmade_npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }\n", "abcd"),
         {"malformed .npy header", "byte offset 44", "True or False"});
  reject(handmade_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2), }\n", "abcd"),
         {"malformed .npy header", "non-negative integer"});
  reject(handmade_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n", "abcd"),
         {"malformed"});
  reject(
      handmade_npy(
          "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }\n", ""),
      {"too large"});
  reject(handmade_npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }\n", "\x01\x07"),
         {"bool element 1", "expected 0 or 1"});
  // A '<U1' element holding a surrogate code point.
  reject(handmade_npy("{'descr': '<U1', 'fortran_order': False, 'shape': (1,), }\n",
                      std::string("\x00\xD8\x00\x00", 4)),
         {"invalid code point"});
  expect_input_error([&] { read_npy(dir.file("missing.npy")); }, {"missing.npy", "cannot open"});
  write_npy(dir.file("s.npy"), StringArray({"a"}));
  expect_input_error([&] { read_npy(dir.file("s.npy")); }, {"s.npy", "holds strings"});
}

TEST(NdArray, ExpectNamesDtypeAndShape) {
  const NdArray a(DType::float64, {3, 4});
  a.expect(DType::float64, {-1, 4}, "X", "(N, C)");
  expect_input_error(
      [&] {
        a.expect(DType::float32, {-1, 4}, "X_train", "(N, C)");
      },
      {"X_train", "float64", "(3, 4)", "float32 (*, 4) = (N, C)"});
  expect_input_error([&] { a.data<float>(); }, {"float64", "float32"});
  EXPECT_EQ(a.reshaped({12}).shape(), std::vector<int64_t>{12});
  expect_input_error([&] { a.reshaped({5}); }, {"(3, 4)", "(5,)"});
  expect_input_error([] { NdArray(DType::uint8, {2, -1}); }, {"negative dimension"});
  EXPECT_EQ(NdArray::from_values<int32_t>({3}, {1, -2, 3}).to_vector<double>(),
            (std::vector<double>{1, -2, 3}));
}

}  // namespace
}  // namespace ssmkit::io
