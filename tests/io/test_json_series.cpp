// JSON time-series reader: records, columns, split and wrapped layouts; errors name the position.
#include <gtest/gtest.h>

#include <cmath>

#include "io/io_test_helpers.h"
#include "ssmkit/io/json_series.h"

namespace ssmkit::io {
namespace {

using ssmkit::testing::expect_input_error;
using ssmkit::testing::TempDir;
using ssmkit::testing::write_bytes;

void expect_two_rows(const Table& table) {
  EXPECT_EQ(table.column_names(), (std::vector<std::string>{"timestamp", "b", "a"}));
  ASSERT_EQ(table.num_rows(), 2);
  const std::vector<double> a = table.numeric_column("a");
  EXPECT_EQ(a[0], 1.5);
  EXPECT_TRUE(std::isnan(a[1]));
  EXPECT_EQ(table.numeric_column("b"), (std::vector<double>{2, 4}));
  EXPECT_EQ(cell_text(table.column("timestamp").cells[1]), "2020-01-01 01:00");
}

TEST(JsonSeries, AcceptsEveryDocumentedLayout) {
  expect_two_rows(parse_json_series(
      R"([{"timestamp": "2020-01-01 00:00", "b": 2, "a": 1.5},
          {"timestamp": "2020-01-01 01:00", "b": "4"}])",
      "records"));
  expect_two_rows(parse_json_series(
      R"({"timestamp": ["2020-01-01 00:00", "2020-01-01 01:00"], "b": [2, 4], "a": [1.5, null]})",
      "columns"));
  expect_two_rows(parse_json_series(
      R"({"timestamp": {"0": "2020-01-01 00:00", "1": "2020-01-01 01:00"},
          "b": {"0": 2, "1": 4}, "a": {"0": 1.5, "1": null}})",
      "pandas columns"));
  expect_two_rows(parse_json_series(
      R"({"columns": ["timestamp", "b", "a"], "index": [0, 1],
          "data": [["2020-01-01 00:00", 2, 1.5], ["2020-01-01 01:00", 4, null]]})",
      "split"));
  expect_two_rows(parse_json_series(
      R"({"name": "demo", "data": [{"timestamp": "2020-01-01 00:00", "b": 2, "a": 1.5},
                                   {"timestamp": "2020-01-01 01:00", "b": 4, "a": "NaN"}]})",
      "wrapped records"));
  expect_two_rows(parse_json_series(
      R"({"data": {"timestamp": ["2020-01-01 00:00", "2020-01-01 01:00"], "b": [2, 4],
                   "a": [1.5, null]}})",
      "wrapped columns"));
}

TEST(JsonSeries, ColumnNamedDataIsAColumn) {
  const Table table = parse_json_series(R"({"time": [1, 2], "data": [3, 4]})", "mem");
  EXPECT_EQ(table.numeric_column("data"), (std::vector<double>{3, 4}));
}

TEST(JsonSeries, RejectsBadInputNamingThePosition) {
  TempDir dir;
  const auto reject = [&](const std::string& text, std::initializer_list<std::string> fragments) {
    const std::string path = write_bytes(dir.file("bad.json"), text);
    expect_input_error([&] { read_json_series(path); }, fragments);
  };
  reject("", {"bad.json", "empty file"});
  reject("  \n", {"bad.json", "empty file"});
  reject("[{\"a\": 1},\n {\"a\": 2,}]", {"bad.json", "invalid JSON", "line 2"});
  reject("[{\"a\": 1}", {"bad.json", "invalid JSON"});
  reject("[]", {"bad.json", "empty"});
  reject("[{}]", {"bad.json", "empty"});
  reject("42", {"bad.json", "found number"});
  reject("[{\"t\": 1, \"a\": 1}, [1, 2]]", {"bad.json record 1", "expected an object", "array"});
  reject("[{\"t\": 1, \"a\": {\"x\": 1}}]", {"bad.json record 0, key 'a'", "found object"});
  reject("[{\"t\": 1, \"a\": true}]", {"record 0, key 'a'", "found boolean"});
  reject("{\"t\": [1, 2, 3], \"a\": [1, 2]}", {"bad.json column 'a'", "2 values", "'t' has 3"});
  reject("{\"t\": [1, 2], \"a\": 5}", {"column 'a'", "expected an array"});
  reject("{\"t\": [1, [2]]}", {"column 't' record 1", "found array"});
  reject("{\"columns\": [\"t\", \"a\"], \"data\": [[1, 2], [3]]}",
         {"bad.json record 1", "array of 2 values", "found 1 values"});
  reject("{\"columns\": [\"t\", \"t\"], \"data\": [[1, 2]]}", {"duplicate column name 't'"});
  expect_input_error([&] { read_json_series(dir.file("absent.json")); },
                     {"absent.json", "cannot open"});
}

}  // namespace
}  // namespace ssmkit::io
