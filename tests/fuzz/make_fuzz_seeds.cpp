// Writes tiny valid inputs for each fuzz target into <folder>/<parser>/ (scripts/fuzz.sh gzips the
// IDX seeds too). Binary seeds come from the library's own writers so they track the formats.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/cifar.h"
#include "ssmkit/io/npy.h"
#include "ssmkit/io/npz.h"

namespace {

namespace fs = std::filesystem;
using ssmkit::io::DType;
using ssmkit::io::NdArray;
using ssmkit::io::StringArray;

void put(const fs::path& folder, const std::string& name, const std::string& bytes) {
  fs::create_directories(folder);
  ssmkit::write_file_atomic((folder / name).string(), bytes);
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

NdArray small_matrix() {
  return NdArray::from_values<float>({2, 3}, {0.5f, -1.0f, 2.25f, 3.0f, 4.0f, -0.125f});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds <folder>\n");
    return 2;
  }
  const fs::path root = argv[1];

  put(root / "csv", "basic.csv",
      "date,a,b\n2020-01-01 00:00:00,1.5,2\n2020-01-01 01:00:00,NA,3\n2020-01-01 02:00,4,\n");
  put(root / "csv", "quoted.csv",
      "timestamp,\"na,me\",c\r\n\"2020/1/1 0:00\",\"1\",\"x\"\"y\"\r\n2020/1/1 "
      "1:00,2,\"multi\nline\"");

  put(root / "json_series", "records.json",
      "[{\"timestamp\": \"2020-01-01T00:00:00Z\", \"a\": 1.5, \"b\": null},"
      " {\"timestamp\": \"2020-01-01T01:00:00Z\", \"a\": 2, \"b\": 3},"
      " {\"timestamp\": \"2020-01-01T02:00:00Z\", \"a\": 2.5, \"b\": 4},"
      " {\"timestamp\": \"2020-01-01T03:00:00Z\", \"a\": 3, \"b\": 5},"
      " {\"timestamp\": \"2020-01-01T04:00:00Z\", \"a\": 3.5, \"b\": 6}]");
  put(root / "json_series", "columns.json",
      "{\"time\": [0, 3600, 7200, 10800, 14400, 18000], \"x\": [1, 2, 3, 4, 5, 6], "
      "\"label\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]}");
  put(root / "json_series", "split.json",
      "{\"columns\": [\"date\", \"v\"], \"index\": [0, 1, 2, 3],"
      " \"data\": [[\"2021-05-01\", 1], [\"2021-05-02\", 2], [\"2021-05-03\", 3], [\"2021-05-04\", "
      "4]]}");
  put(root / "json_series", "wrapped.json",
      "{\"name\": \"s\", \"data\": {\"date\": {\"0\": \"2021-05-01 00:00\", \"1\": \"2021-05-01 "
      "01:00\","
      " \"2\": \"2021-05-01 02:00\", \"3\": \"2021-05-01 03:00\"}, \"v\": {\"0\": 1, \"1\": 2, "
      "\"2\": 3, \"3\": 4}}}");

  put(root / "npy", "float32.npy", ssmkit::io::encode_npy(small_matrix()));
  put(root / "npy", "int64_scalar.npy",
      ssmkit::io::encode_npy(NdArray::from_values<int64_t>({}, {7})));
  put(root / "npy", "bool.npy",
      ssmkit::io::encode_npy(NdArray::from_values<bool>({3}, {true, false, true})));
  put(root / "npy", "uint8.npy",
      ssmkit::io::encode_npy(NdArray::from_values<uint8_t>({2, 2}, {0, 1, 254, 255})));
  put(root / "npy", "strings.npy",
      ssmkit::io::encode_npy(StringArray({"load", "temp\xC3\xA9rature", ""})));
  {
    // The same matrix as big-endian Fortran-order data, hand-made (numpy writes these too).
    std::string fortran = ssmkit::io::encode_npy(NdArray(DType::float64, {2, 2}));
    const size_t descr = fortran.find("<f8");
    fortran.replace(descr, 3, ">f8");
    const size_t order = fortran.find("False");
    fortran.replace(order, 5, "True ");
    put(root / "npy", "fortran_big_endian.npy", fortran);
  }

  ssmkit::io::Npz npz;
  npz.set("X", small_matrix());
  npz.set("t", NdArray::from_values<int64_t>({2}, {0, 3600}));
  npz.set("columns", StringArray({"a", "b", "c"}));
  fs::create_directories(root / "npz");
  ssmkit::io::write_npz((root / "npz" / "stored.npz").string(), npz);
  ssmkit::io::write_npz((root / "npz" / "deflated.npz").string(), npz,
                        ssmkit::io::NpzCompression::deflated);

  put(root / "ucr", "basic.tsv", "1\t0.5\t0.25\t-1\n2\t-1e-2\t3\t4.5\n1\t0\t0\t0\n");
  put(root / "ucr", "crlf.tsv", "-1\t1.0\t2.0\r\n1.0000000e+00\t3\t4\r\n");

  // IDX: 2 images of 3x3 uint8, their labels, and a small float64 array.
  std::string images = be32(0x00000803) + be32(2) + be32(3) + be32(3);
  for (int i = 0; i < 18; ++i)
    images += static_cast<char>(i * 14);
  put(root / "idx", "images.idx", images);
  put(root / "idx", "labels.idx", be32(0x00000801) + be32(2) + std::string("\x03\x07", 2));
  std::string doubles = be32(0x00000E01) + be32(1);
  doubles += std::string("\x3F\xF0\0\0\0\0\0\0", 8);  // 1.0 big-endian
  put(root / "idx", "float64.idx", doubles);

  std::string cifar10;
  for (int record = 0; record < 2; ++record) {
    cifar10 += static_cast<char>(record * 9);
    cifar10 += std::string(ssmkit::io::kCifarPixels, static_cast<char>(record * 100));
  }
  put(root / "cifar", "cifar10.bin", cifar10);
  put(root / "cifar", "cifar100.bin",
      std::string("\x13\x63", 2) + std::string(ssmkit::io::kCifarPixels, '\x10'));
  return 0;
}
