// numpy reads what ssmkit writes and ssmkit reads what numpy writes (np.save, np.savez,
// np.savez_compressed), byte for byte. Skips with a message when python3 with numpy is missing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>

#include "io/io_test_helpers.h"
#include "ssmkit/io/file_bytes.h"
#include "ssmkit/io/npy.h"
#include "ssmkit/io/npz.h"

namespace ssmkit::io {
namespace {

using ssmkit::testing::TempDir;
using ssmkit::testing::write_bytes;

// The first Python that imports numpy: the one on PATH, else Debian's (python3-numpy installs
// there, and a python3 on PATH from a version manager may not see it). "" when none does.
std::string python_with_numpy() {
  for (const std::string python : {"python3", "/usr/bin/python3"}) {
    if (std::system((python + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0) return python;
  }
  return "";
}

// Python that describes every array of an .npz or .npy as JSON: numpy's dtype string, shape, and
// the C-order little-endian bytes in hex (or the strings).
constexpr const char* kDescribe = R"PY(
import json, sys
import numpy as np
def describe(a):
    if a.dtype.kind == 'U':
        return {'strings': [str(s) for s in a.ravel().tolist()], 'shape': list(a.shape)}
    c = np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<'))
    return {'dtype': c.dtype.str, 'shape': list(a.shape), 'hex': c.tobytes().hex()}
path, out = sys.argv[1], sys.argv[2]
if path.endswith('.npz'):
    with np.load(path) as z:
        result = {k: describe(z[k]) for k in z.files}
else:
    result = {'array': describe(np.load(path))}
json.dump(result, open(out, 'w'))
)PY";

std::string numpy_dtype(DType dtype) {
  switch (dtype) {
    case DType::float32:
      return "<f4";
    case DType::float64:
      return "<f8";
    case DType::int64:
      return "<i8";
    case DType::int32:
      return "<i4";
    case DType::uint8:
      return "|u1";
    case DType::int8:
      return "|i1";
    case DType::boolean:
      return "|b1";
  }
  return "?";
}

std::string hex_of(const NdArray& array) {
  static const char* kDigits = "0123456789abcdef";
  std::string hex;
  const auto* bytes = static_cast<const unsigned char*>(array.raw_data());
  for (size_t i = 0; i < array.nbytes(); ++i) {
    hex += kDigits[bytes[i] >> 4];
    hex += kDigits[bytes[i] & 15];
  }
  return hex;
}

void expect_matches(const NpyArray& array, const nlohmann::json& described,
                    const std::string& name) {
  SCOPED_TRACE(name);
  if (const StringArray* strings = std::get_if<StringArray>(&array)) {
    ASSERT_TRUE(described.contains("strings"));
    EXPECT_EQ(described["strings"].get<std::vector<std::string>>(), strings->values);
    EXPECT_EQ(described["shape"].get<std::vector<int64_t>>(), strings->shape);
    return;
  }
  const NdArray& numbers = std::get<NdArray>(array);
  ASSERT_TRUE(described.contains("hex"));
  EXPECT_EQ(described["dtype"].get<std::string>(), numpy_dtype(numbers.dtype()));
  EXPECT_EQ(described["shape"].get<std::vector<int64_t>>(), numbers.shape());
  EXPECT_EQ(described["hex"].get<std::string>(), hex_of(numbers));
}

nlohmann::json describe_with_numpy(const std::string& python, const TempDir& dir,
                                   const std::string& path) {
  const std::string script = write_bytes(dir.file("describe.py"), kDescribe);
  const std::string out = dir.file("described.json");
  const std::string command = python + " " + script + " " + path + " " + out;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return nlohmann::json::parse(read_file_bytes(out));
}

TEST(NumpyInterop, NumpyReadsWhatSsmkitWrites) {
  const std::string python = python_with_numpy();
  if (python.empty()) GTEST_SKIP() << "python3 with numpy not found; interop not checked";
  std::random_device rd;
  const unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<float> f32(4 * 3 * 2);
  for (float& v : f32)
    v = static_cast<float>(normal(rng));
  std::vector<double> f64(5);
  for (double& v : f64)
    v = normal(rng) * 1e10;
  Npz npz;
  npz.set("X", NdArray::from_values<float>({4, 3, 2}, f32));
  npz.set("mean", NdArray::from_values<double>({5}, f64));
  npz.set("t", NdArray::from_values<int64_t>({3}, {-1, 0, 1530000000000}));
  npz.set("i32", NdArray::from_values<int32_t>({2, 1}, {-7, 2147483647}));
  npz.set("pixels", NdArray::from_values<uint8_t>({2, 2}, {0, 9, 200, 255}));
  npz.set("mask", NdArray::from_values<bool>({3}, {true, false, true}));
  npz.set("scalar", NdArray::from_values<double>({}, {3.25}));
  npz.set("empty", NdArray(DType::float32, {0, 4}));
  npz.set("columns", StringArray({"date", "OT", "temp\xC3\xA9rature \xE2\x82\xAC", ""}));
  TempDir dir;
  for (const NpzCompression compression : {NpzCompression::stored, NpzCompression::deflated}) {
    const std::string path = dir.file("ssmkit.npz");
    write_npz(path, npz, compression);
    const nlohmann::json described = describe_with_numpy(python, dir, path);
    ASSERT_EQ(described.size(), npz.size());
    for (const auto& [name, array] : npz.entries())
      expect_matches(array, described[name], name);
  }
  write_npy(dir.file("one.npy"), npz.get("X"));
  expect_matches(npz.get("X"), describe_with_numpy(python, dir, dir.file("one.npy"))["array"],
                 "npy");
}

TEST(NumpyInterop, SsmkitReadsWhatNumpyWrites) {
  const std::string python = python_with_numpy();
  if (python.empty()) GTEST_SKIP() << "python3 with numpy not found; interop not checked";
  TempDir dir;
  const std::string script = write_bytes(dir.file("make.py"), R"PY(
import sys
import numpy as np
rng = np.random.default_rng()
arrays = {
    'f32': rng.standard_normal((3, 4)).astype(np.float32),
    'f64': rng.standard_normal(7),
    'i64': np.arange(-3, 3, dtype=np.int64).reshape(2, 3),
    'i32': np.array([[1, -2], [3, 4]], dtype=np.int32),
    'u8': rng.integers(0, 256, (2, 5, 5), dtype=np.uint8),
    'b': np.array([True, False]),
    'scalar': np.float64(2.5),
    'fortran': np.asfortranarray(rng.standard_normal((3, 5))),
    'big_endian': np.arange(6, dtype='>i4').reshape(3, 2),
    'columns': np.array(['date', 'HUFL', 'temp\u00e9rature', 'x' * 30]),
    'timestamps': np.array(['2016-07-01 00:00:00', '2016-07-01 01:00:00']),
}
np.savez(sys.argv[1] + '/plain.npz', **arrays)
np.savez_compressed(sys.argv[1] + '/compressed.npz', **arrays)
np.save(sys.argv[1] + '/fortran.npy', arrays['fortran'])
)PY");
  const std::string command = python + " " + script + " " + dir.path().string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  for (const std::string name : {"plain.npz", "compressed.npz"}) {
    const Npz npz = read_npz(dir.file(name));
    const nlohmann::json described = describe_with_numpy(python, dir, dir.file(name));
    ASSERT_EQ(npz.size(), described.size()) << name;
    for (const auto& [member, array] : npz.entries()) {
      expect_matches(array, described[member], name + ":" + member);
    }
    EXPECT_EQ(npz.strings("columns").values[2], "temp\xC3\xA9rature");
    EXPECT_TRUE(npz.array("scalar").shape().empty());
  }
  const NdArray fortran = read_npy(dir.file("fortran.npy"));
  expect_matches(fortran, describe_with_numpy(python, dir, dir.file("fortran.npy"))["array"],
                 "fortran");
}

}  // namespace
}  // namespace ssmkit::io
