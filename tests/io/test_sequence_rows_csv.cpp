// The one-sequence-per-row CSV reader: values, and one clear error per kind of bad file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ssmkit/io/error.h"
#include "ssmkit/io/sequence_rows_csv.h"
#include "test_temp_dir.h"

namespace {

using ssmkit::io::read_sequence_rows_csv;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// The InputError of reading `path`, matched against `expected`.
void expect_read_error(const std::string& path, const std::string& expected) {
  EXPECT_THAT([&] { read_sequence_rows_csv(path); },
              ThrowsMessage<ssmkit::InputError>(HasSubstr(expected)));
}

TEST(SequenceRowsCsv, ReadsRowsAndToleratesCrlfAndBlankEnd) {
  ssmkit::testing::TempDir dir;
  auto rows = read_sequence_rows_csv(dir.write("ok.csv", "t0,t1,t2\r\n1,2.5,-3e-1\r\n4, 5 ,6\n\n"));
  EXPECT_EQ(rows.rows, 2);
  EXPECT_EQ(rows.length, 3);
  EXPECT_EQ(rows.header[2], "t2");
  EXPECT_EQ(rows.values, (std::vector<float>{1.f, 2.5f, -0.3f, 4.f, 5.f, 6.f}));
}

TEST(SequenceRowsCsv, BadFilesNameFileLineAndColumn) {
  ssmkit::testing::TempDir dir;
  expect_read_error((dir.path() / "missing.csv").string(), "missing.csv: cannot open");
  expect_read_error(dir.path().string(), "is a folder, expected a file");
  expect_read_error(dir.write("empty.csv", ""), "empty file, expected a header line");
  expect_read_error(dir.write("header.csv", "a,b\n"), "no data rows");
  const std::string short_row = dir.write("short.csv", "a,b,c\n1,2,3\n1,2\n");
  expect_read_error(short_row, short_row + " line 3: 2 fields, expected 3 as in the header");
  expect_read_error(dir.write("cell.csv", "a,b\n1,x2\n"),
                    "cell.csv line 2: column 2 ('b') holds 'x2', expected a finite number");
  expect_read_error(dir.write("nan.csv", "a\nnan\n"), "expected a finite number");
  expect_read_error(dir.write("inf.csv", "a\ninf\n"), "expected a finite number");
  expect_read_error(dir.write("gap.csv", "a,b\n1,\n"), "column 2 ('b') holds ''");
}

}  // namespace
