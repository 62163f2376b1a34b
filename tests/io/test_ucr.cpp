// UCR .tsv reader and dataset loader: labels, values, class re-coding, rejected files.
#include <gtest/gtest.h>

#include "io/io_test_helpers.h"
#include "ssmkit/io/ucr.h"

namespace ssmkit::io {
namespace {

using ssmkit::testing::expect_input_error;
using ssmkit::testing::TempDir;
using ssmkit::testing::write_bytes;

TEST(Ucr, ParsesLabelsAndValues) {
  const UcrSplit split =
      parse_ucr_tsv("1\t0.5\t-0.25\t3e-1\r\n-1\t1\t2\t3\n1.0000000e+00\t4\t5\t6\n\n\n", "mem");
  split.series.expect(DType::float64, {3, 3}, "series", "(N, L)");
  EXPECT_EQ(split.labels.to_vector<int64_t>(), (std::vector<int64_t>{1, -1, 1}));
  EXPECT_EQ(split.series.to_vector<double>(),
            (std::vector<double>{0.5, -0.25, 0.3, 1, 2, 3, 4, 5, 6}));
}

TEST(Ucr, LoadsDatasetAndRecodesClasses) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "Toy");
  write_bytes(dir.file("Toy/Toy_TRAIN.tsv"), "5\t1\t2\n-1\t3\t4\n");
  write_bytes(dir.file("Toy/Toy_TEST.tsv"), "2\t1\t1\n5\t0\t0\n");
  const UcrDataset data = load_ucr_dataset(dir.path().string(), "Toy");
  EXPECT_EQ(data.classes, (std::vector<int64_t>{-1, 2, 5}));
  EXPECT_EQ(data.train.labels.to_vector<int64_t>(), (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(data.test.labels.to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  write_bytes(dir.file("Toy/Toy_TEST.tsv"), "2\t1\t1\t1\n");
  expect_input_error([&] { load_ucr_dataset(dir.path().string(), "Toy"); },
                     {"Toy_TEST.tsv", "length 3", "length 2"});
  expect_input_error([&] { load_ucr_dataset(dir.path().string(), "Nope"); }, {"no Nope_TRAIN.tsv"});
}

TEST(Ucr, RejectsBadFilesNamingLineAndField) {
  TempDir dir;
  const auto reject = [&](const std::string& text, std::initializer_list<std::string> fragments) {
    const std::string path = write_bytes(dir.file("bad.tsv"), text);
    expect_input_error([&] { read_ucr_tsv(path); }, fragments);
  };
  reject("", {"bad.tsv", "empty file"});
  reject("\n\n", {"bad.tsv", "empty file"});
  reject("1\t1\t2\n2\t3\n", {"bad.tsv line 2", "1 values, expected 2", "ragged"});
  reject("1\t1\t2\n2\t3\t4\t5\n", {"bad.tsv line 2", "3 values, expected 2"});
  reject("1\t1\t2\n2\t3\tx\n", {"bad.tsv line 2, field 3", "'x'", "not a finite number"});
  reject("1\t1\tNaN\n", {"bad.tsv line 1, field 3", "NaN"});
  reject("1\t1\t\t2\n", {"line 1, field 3", "missing"});
  reject("1\t1\tinf\n", {"line 1, field 3", "not a finite number"});
  reject("1.5\t1\t2\n", {"line 1, field 1", "label '1.5'", "whole number"});
  reject("a\t1\t2\n", {"line 1, field 1", "'a'"});
  reject("1\n", {"bad.tsv line 1", "a label without values"});
  reject("1\t1\n\n2\t2\n", {"bad.tsv line 2", "blank line"});
  reject("1,2,3\n", {"line 1, field 1", "'1,2,3'"});
}

}  // namespace
}  // namespace ssmkit::io
