// CSV reader: RFC 4180 quoting, line ends, named columns, numbers with missing values, and errors
// that name the file and line.
#include <gtest/gtest.h>

#include <cmath>

#include "io/io_test_helpers.h"
#include "ssmkit/io/csv.h"

namespace ssmkit::io {
namespace {

using ssmkit::testing::expect_input_error;
using ssmkit::testing::TempDir;
using ssmkit::testing::write_bytes;

std::string text_at(const Table& table, const std::string& column, int64_t row) {
  return cell_text(table.column(column).cells[static_cast<size_t>(row)]);
}

TEST(Csv, QuotedFieldsEscapesAndEmbeddedBreaks) {
  const Table table = parse_csv(
      "name,\"a,b\",note\r\n"
      "x,1,\"he said \"\"hi\"\"\"\r\n"
      "\"y\",\"2\",\"two\nlines, and a comma\"\r\n"
      "z,,\"\"\r\n",
      "mem.csv");
  EXPECT_EQ(table.column_names(), (std::vector<std::string>{"name", "a,b", "note"}));
  ASSERT_EQ(table.num_rows(), 3);
  EXPECT_EQ(text_at(table, "note", 0), "he said \"hi\"");
  EXPECT_EQ(text_at(table, "name", 1), "y");
  EXPECT_EQ(text_at(table, "note", 1), "two\nlines, and a comma");
  EXPECT_EQ(text_at(table, "a,b", 2), "");
  EXPECT_EQ(text_at(table, "note", 2), "");
  // Rows are named by the line they start on; the quoted break moves the third row to line 5.
  EXPECT_EQ(table.where(0), "mem.csv line 2");
  EXPECT_EQ(table.where(2), "mem.csv line 5");
}

TEST(Csv, LineEndsBomBlankLinesAndNoTrailingNewline) {
  for (const std::string& text :
       {std::string("\xEF\xBB\xBF"
                    "a,b\n1,2\n\n3,4"),
        std::string("a,b\r\n1,2\r\n\r\n3,4\r\n"), std::string("a,b\n1,2\n3,4\n\n")}) {
    const Table table = parse_csv(text, "mem");
    EXPECT_EQ(table.column_names(), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(table.numeric_column("b"), (std::vector<double>{2, 4}));
  }
  const Table single = parse_csv("only\n5", "mem");
  EXPECT_EQ(single.numeric_column("only"), std::vector<double>{5});
}

TEST(Csv, NumbersAndMissingValues) {
  const Table table = parse_csv("v\n1.5\n-2e3\n+4\n\nNA\n\"\"\nNaN\nnan\nnull\n .25 \n", "mem");
  const std::vector<double> v = table.numeric_column("v");
  ASSERT_EQ(v.size(), 9u);
  EXPECT_EQ(v[0], 1.5);
  EXPECT_EQ(v[1], -2000.0);
  EXPECT_EQ(v[2], 4.0);
  for (size_t i = 3; i < 8; ++i)
    EXPECT_TRUE(std::isnan(v[i])) << i;
  EXPECT_EQ(v[8], 0.25);
}

TEST(Csv, NonNumericFieldNamesLineAndColumn) {
  const Table table = parse_csv("date,OT\n2020-01-01,1\n2020-01-02,12,5\n", "m.csv", {';'});
  EXPECT_EQ(table.num_columns(), 1);  // ';' delimiter: one column
  const Table t2 = parse_csv("date,OT\n2020-01-01,1\n2020-01-02,abc\n2020-01-03,inf\n", "m.csv");
  expect_input_error([&] { t2.numeric_column("OT"); },
                     {"m.csv line 3", "column 'OT'", "'abc'", "not a finite number"});
  expect_input_error([&] { t2.column("ot"); }, {"m.csv", "no column 'ot'", "'date', 'OT'"});
}

TEST(Csv, RejectsMalformedFiles) {
  TempDir dir;
  const auto reject = [&](const std::string& text, std::initializer_list<std::string> fragments) {
    const std::string path = write_bytes(dir.file("bad.csv"), text);
    expect_input_error([&] { read_csv(path); }, fragments);
  };
  reject("", {"bad.csv", "empty file"});
  reject("\n\r\n\n", {"bad.csv", "empty file"});
  reject("a,b,c\n1,2,3\n4,5\n", {"bad.csv line 3", "2 fields, expected 3"});
  reject("a,b\n1,2\n3,4,5\n", {"bad.csv line 3", "3 fields, expected 2"});
  reject("a,b\n1,\"2\n3,4\n", {"bad.csv line 2", "never closed"});
  reject("a,b\n1,\"2\"x\n", {"bad.csv line 2", "after a closing quote"});
  reject("a,a\n1,2\n", {"bad.csv line 1", "duplicate column name 'a'"});
  expect_input_error([&] { read_csv(dir.file("absent.csv")); }, {"absent.csv", "cannot open"});
  expect_input_error([&] { read_csv(dir.path().string()); }, {"is a folder"});
}

}  // namespace
}  // namespace ssmkit::io
