// Turns a time-series file into forecasting windows: load, clean, split chronologically, fit the
// scaler on the training rows only, cut (input, forecast) windows, write one .npz. The logic of the
// prepare_data program; the option fields mirror its flags, and messages name those flags.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ssmkit/io/nd_array.h"
#include "ssmkit/io/npz.h"
#include "ssmkit/io/standard_scaler.h"
#include "ssmkit/io/time_series.h"

namespace ssmkit::io {

enum class SplitScheme {
  // Fractions of the rows in time order: train, then val (--val_size), then test (--test_size).
  chronological,
  // The standard ETT borders: 12/4/4 months of 30 days (hourly rows; 15-minute rows scale by 4).
  ett,
};
SplitScheme parse_split_scheme(const std::string& text, const std::string& flag);

struct PrepareOptions {
  std::string input_file;
  std::string output_file;  // must end in .npz
  SeriesFormat format = SeriesFormat::automatic;
  int64_t input_length = 0;     // > 0
  int64_t forecast_length = 0;  // > 0
  double test_size = 0.2;       // in (0, 1), chronological split only
  double val_size = 0.1;        // in (0, 1), chronological split only; test + val < 1
  SplitScheme split = SplitScheme::chronological;
  TimeSeriesOptions series;
};

// Rows [begin, end) of the cleaned series.
struct RowRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

// Rows each split's windows are cut from. Validation and test start input_length rows before their
// own first row, so their first window forecasts their first row (as the LTSF data loaders do).
struct SplitRows {
  RowRange train, val, test;
};

// Window counts per split: rows - input_length - forecast_length + 1 (stride 1).
int64_t count_windows(const RowRange& rows, int64_t input_length, int64_t forecast_length);

// The split rows for a series of `timestamps` (epoch seconds, increasing). Throws InputError naming
// the flag when a split would hold no window.
SplitRows compute_split_rows(const std::vector<int64_t>& timestamps, const PrepareOptions& options);

struct PreparedSplit {
  RowRange rows;       // rows the windows are cut from, including the input_length context
  NdArray inputs;      // (n, input_length, C) float32, scaled
  NdArray targets;     // (n, forecast_length, C) float32, scaled
  NdArray timestamps;  // (n,) int64 epoch seconds of each window's first forecast step
};

struct PreparedData {
  std::vector<std::string> columns;  // (C,)
  StandardScaler scaler;             // fitted on rows [0, train.rows.end)
  PreparedSplit train, val, test;
  TimeSeriesReport report;
  int64_t rows = 0;        // rows of the cleaned series
  int64_t first_time = 0;  // its first and last timestamps, epoch seconds
  int64_t last_time = 0;
};

// Checks the options that do not need the data (lengths, sizes, output path); throws InputError
// naming the flag.
void validate_prepare_options(const PrepareOptions& options);

// Splits, scales and windows a loaded series.
PreparedData prepare_windows(const TimeSeries& series, const PrepareOptions& options);

// The .npz layout: X_train, y_train, X_val, y_val, X_test, y_test (float32), scaler_mean,
// scaler_scale (float64, (C,)), columns ('<U', (C,)), t_train, t_val, t_test (int64).
Npz prepared_to_npz(const PreparedData& data);

// Lines for the program's summary: rows, duplicates, columns, split rows and window counts.
std::string prepare_summary(const PreparedData& data, const PrepareOptions& options);

// validate_prepare_options(), load_time_series(), prepare_windows(), then writes the .npz
// atomically. Nothing is written when any step throws.
PreparedData run_prepare_data(const PrepareOptions& options);

}  // namespace ssmkit::io
