// The one-sequence-per-row CSV reader: values, and one clear error per kind of bad file.
#include <gtest/gtest.h>

#include "ssmkit/io/error.h"
#include "ssmkit/io/sequence_rows_csv.h"
#include "test_temp_dir.h"

namespace {

using ssmkit::io::read_sequence_rows_csv;

std::string read_error_of(const std::string& path) {
  try {
    read_sequence_rows_csv(path);
  } catch (const ssmkit::InputError& e) {
    return e.what();
  }
  return "";
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
  EXPECT_NE(read_error_of((dir.path() / "missing.csv").string()).find("cannot open data file"),
            std::string::npos);
  EXPECT_NE(read_error_of(dir.path().string()).find("is a directory"), std::string::npos);
  EXPECT_NE(read_error_of(dir.write("empty.csv", "")).find("file is empty"), std::string::npos);
  EXPECT_NE(read_error_of(dir.write("header.csv", "a,b\n")).find("no data rows"),
            std::string::npos);
  const std::string short_row = dir.write("short.csv", "a,b,c\n1,2,3\n1,2\n");
  EXPECT_NE(
      read_error_of(short_row).find(short_row + ":3: expected 3 values (one per header column), "
                                                "found 2"),
      std::string::npos)
      << read_error_of(short_row);
  const std::string bad_cell = dir.write("cell.csv", "a,b\n1,x2\n");
  EXPECT_NE(read_error_of(bad_cell).find(":2: column 2 ('b') holds 'x2', expected a finite number"),
            std::string::npos)
      << read_error_of(bad_cell);
  EXPECT_NE(read_error_of(dir.write("nan.csv", "a\nnan\n")).find("expected a finite number"),
            std::string::npos);
  EXPECT_NE(read_error_of(dir.write("gap.csv", "a,b\n1,\n")).find("column 2 ('b') holds ''"),
            std::string::npos);
}

}  // namespace
