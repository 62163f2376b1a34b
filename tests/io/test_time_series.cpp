// Time-series assembly: timestamp column detection, duplicates, ordering, column selection and the
// fill policies.
#include <gtest/gtest.h>

#include "io/io_test_helpers.h"
#include "ssmkit/io/csv.h"
#include "ssmkit/io/time_series.h"

namespace ssmkit::io {
namespace {

using ssmkit::testing::expect_input_error;
using ssmkit::testing::TempDir;
using ssmkit::testing::write_bytes;

TimeSeries assemble(const std::string& csv, const TimeSeriesOptions& options = {}) {
  return assemble_time_series(parse_csv(csv, "s.csv"), options);
}

TEST(TimeSeries, SortsDropsDuplicatesAndSelectsNumericColumns) {
  const TimeSeries s = assemble(
      "station,Date,a,b\n"
      "x,2020-01-01 02:00,3,30\n"
      "x,2020-01-01 00:00,1,10\n"
      "y,2020-01-01 01:00,2,20\n"
      "z,2020-01-01 00:00,9,90\n");  // duplicate of line 3's time: dropped, first kept
  EXPECT_EQ(s.report.timestamp_column, "Date");
  EXPECT_EQ(s.report.duplicates_dropped, 1);
  EXPECT_EQ(s.report.rows_read, 4);
  EXPECT_EQ(s.report.ignored_columns, std::vector<std::string>{"station"});
  EXPECT_EQ(s.columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.timestamps, (std::vector<int64_t>{1577836800, 1577840400, 1577844000}));
  EXPECT_EQ(s.values, (std::vector<double>{1, 10, 2, 20, 3, 30}));
}

TEST(TimeSeries, ExplicitColumnsAndTimestampColumn) {
  TimeSeriesOptions options;
  options.timestamp_column = "when";
  options.columns = {"b", "a"};
  const TimeSeries s = assemble("a,when,b\n1,0,10\n2,3600,20\n", options);
  EXPECT_EQ(s.columns, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(s.values, (std::vector<double>{10, 1, 20, 2}));
  EXPECT_EQ(s.timestamps, (std::vector<int64_t>{0, 3600}));
}

TEST(TimeSeries, FillPolicies) {
  const std::string csv = "time,a,b\n0,1,10\n3600,,20\n7200,3,NA\n10800,4,40\n";
  expect_input_error([&] { assemble(csv); }, {"s.csv", "2 rows have missing values", "line 3 ('a')",
                                              "line 4 ('b')", "--fill ffill"});
  TimeSeriesOptions ffill;
  ffill.fill = FillPolicy::ffill;
  const TimeSeries filled = assemble(csv, ffill);
  EXPECT_EQ(filled.values, (std::vector<double>{1, 10, 1, 20, 3, 20, 4, 40}));
  EXPECT_EQ(filled.report.rows_filled, 2);
  TimeSeriesOptions drop;
  drop.fill = FillPolicy::drop;
  const TimeSeries dropped = assemble(csv, drop);
  EXPECT_EQ(dropped.timestamps, (std::vector<int64_t>{0, 10800}));
  EXPECT_EQ(dropped.report.rows_dropped, 2);
  // ffill works in time order: the earliest row has nothing to carry forward.
  expect_input_error([&] { assemble("time,a\n3600,1\n0,\n", ffill); },
                     {"s.csv line 3", "column 'a'", "no earlier value"});
  expect_input_error([&] { assemble("time,a,b\n0,,1\n3600,2,\n", drop); }, {"no rows left"});
}

TEST(TimeSeries, RejectsBadSeries) {
  expect_input_error([] { assemble("x,a\n1,2\n"); },
                     {"s.csv", "no timestamp column", "'x', 'a'", "--timestamp_column"});
  expect_input_error(
      [] { assemble("date,a\n2020-01-01,1\nyesterday,2\n"); },
      {"s.csv line 3", "column 'date'", "cannot parse timestamp 'yesterday'", "YYYY-MM-DD"});
  expect_input_error([] { assemble("date,a\n2020-01-01,1\n,2\n"); },
                     {"s.csv line 3", "missing timestamp"});
  expect_input_error([] { assemble("date,name\n2020-01-01,x\n"); },
                     {"s.csv", "no numeric columns"});
  expect_input_error([] { assemble("date,a\n2020-01-01,1\n2020-01-02,1,5\n"); }, {"line 3"});
  expect_input_error([] { assemble("date,a\n2020-01-01,1\n2020-01-02,x5\n"); },
                     {"s.csv line 3", "column 'a'", "'x5'"});
  expect_input_error([] { assemble("date\n"); }, {"s.csv", "no data rows"});
  TimeSeriesOptions options;
  options.columns = {"nope"};
  expect_input_error([&] { assemble("date,a\n2020-01-01,1\n", options); }, {"no column 'nope'"});
  options.columns = {"date"};
  expect_input_error([&] { assemble("date,a\n2020-01-01,1\n", options); }, {"timestamp column"});
  options.columns = {"name"};
  expect_input_error([&] { assemble("date,name\n2020-01-01,x\n", options); },
                     {"s.csv line 2", "column 'name'", "'x'"});
}

TEST(TimeSeries, FormatFromExtension) {
  TempDir dir;
  write_bytes(dir.file("s.TSV"), "date\tv\n2020-01-01\t1\n");
  EXPECT_EQ(load_time_series(dir.file("s.TSV"), SeriesFormat::automatic, {}).values,
            std::vector<double>{1});
  write_bytes(dir.file("s.dat"), "date,v\n2020-01-01,1\n");
  expect_input_error([&] { read_series_table(dir.file("s.dat"), SeriesFormat::automatic); },
                     {"s.dat", "extension '.dat'", "--format"});
  EXPECT_EQ(read_series_table(dir.file("s.dat"), SeriesFormat::csv).num_rows(), 1);
  expect_input_error([] { parse_fill_policy("bfill", "--fill"); }, {"--fill", "'bfill'"});
  expect_input_error([] { parse_series_format("xml", "--format"); }, {"--format", "'xml'"});
}

}  // namespace
}  // namespace ssmkit::io
