// A multivariate time series loaded from a CSV or JSON file: parsed timestamps, duplicates dropped,
// sorted by time, numeric columns selected, missing values handled by policy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ssmkit/io/table.h"

namespace ssmkit::io {

enum class SeriesFormat { automatic, csv, json };
enum class FillPolicy { error, ffill, drop };

// "csv"/"json"/"auto" and "error"/"ffill"/"drop"; throw InputError naming `flag` otherwise.
SeriesFormat parse_series_format(const std::string& text, const std::string& flag);
FillPolicy parse_fill_policy(const std::string& text, const std::string& flag);

struct TimeSeriesOptions {
  // Column holding the timestamps; "" picks the first column named timestamp, date, time,
  // datetime (any letter case).
  std::string timestamp_column;
  // Value columns, in this order; empty selects every numeric column (file order). A column is
  // numeric when each of its cells is a number or missing and at least one is a number.
  std::vector<std::string> columns;
  // Missing values in the selected columns: error (reject, naming the rows), ffill (carry the
  // previous value forward in time; a missing first value is an error), drop (drop those rows).
  FillPolicy fill = FillPolicy::error;
};

// What loading did, for the summary.
struct TimeSeriesReport {
  int64_t rows_read = 0;
  int64_t duplicates_dropped = 0;  // rows whose timestamp appeared earlier in the file
  int64_t rows_filled = 0;         // rows with a value carried forward (ffill)
  int64_t rows_dropped = 0;        // rows dropped for missing values (drop)
  std::string timestamp_column;
  std::vector<std::string> ignored_columns;  // text columns not selected
};

struct TimeSeries {
  std::vector<int64_t> timestamps;   // (T,) epoch seconds, strictly increasing
  std::vector<std::string> columns;  // (C,)
  std::vector<double> values;        // (T, C) row-major
  TimeSeriesReport report;

  int64_t num_steps() const { return static_cast<int64_t>(timestamps.size()); }
  int64_t num_channels() const { return static_cast<int64_t>(columns.size()); }
};

// Builds the series from a table. Steps: find and parse the timestamp column (every row must have
// one), drop rows whose timestamp was seen before (first occurrence kept), sort by time (stable),
// select the value columns, apply the fill policy. Throws InputError naming the file, row position
// and column for every problem.
TimeSeries assemble_time_series(const Table& table, const TimeSeriesOptions& options);

// Reads `path` as CSV or JSON (SeriesFormat::automatic: by extension .csv/.tsv/.txt vs .json) into
// a Table.
Table read_series_table(const std::string& path, SeriesFormat format);

// read_series_table() then assemble_time_series().
TimeSeries load_time_series(const std::string& path, SeriesFormat format,
                            const TimeSeriesOptions& options);

}  // namespace ssmkit::io
