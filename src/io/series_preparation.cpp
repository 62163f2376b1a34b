// prepare_data's pipeline: split rows, scaler on the training rows, windows, the .npz layout.
#include "ssmkit/io/series_preparation.h"

#include <cmath>
#include <filesystem>
#include <sstream>

#include "ssmkit/io/error.h"
#include "ssmkit/io/timestamp.h"

#include "ssmkit/io/text_list.h"
#include "ssmkit/io/timestamp.h"

namespace ssmkit::io {
namespace {

// ETT borders: months of 30 days; 12 months train, 4 val, 4 test (Informer's ETT data loaders).
constexpr int64_t kEttHoursPerMonth = 30 * 24;
constexpr int64_t kEttTrainMonths = 12;
constexpr int64_t kEttValMonths = 4;
constexpr int64_t kEttTestMonths = 4;

std::string range_text(const RowRange& rows) {
  return "[" + std::to_string(rows.begin) + ", " + std::to_string(rows.end) + ")";
}

// Rows per hour of an ETT file: 1 (ETTh) or 4 (ETTm), from the spacing of the first two rows.
int64_t ett_rows_per_hour(const std::vector<int64_t>& timestamps) {
  const int64_t step = timestamps.size() >= 2 ? timestamps[1] - timestamps[0] : 0;
  if (step > 0 && kSecondsPerHour % step == 0 &&
      (kSecondsPerHour / step == 1 || kSecondsPerHour / step == 4)) {
    return kSecondsPerHour / step;
  }
  throw InputError(
      "--split ett: needs hourly (ETTh) or 15-minute (ETTm) rows, but the first two "
      "rows are " +
      std::to_string(step) + " s apart");
}

void check_split(const char* name, const RowRange& rows, const PrepareOptions& options,
                 const std::string& hint) {
  if (count_windows(rows, options.input_length, options.forecast_length) >= 1) return;
  throw InputError(std::string("the ") + name + " split gets rows " + range_text(rows) + " (" +
                   std::to_string(std::max<int64_t>(rows.size(), 0)) +
                   " rows), fewer than one window of --input_length " +
                   std::to_string(options.input_length) + " + --forecast_length " +
                   std::to_string(options.forecast_length) + "; " + hint);
}

PreparedSplit cut_windows(const std::vector<double>& scaled, const std::vector<int64_t>& timestamps,
                          int64_t channels, const RowRange& rows, const PrepareOptions& options) {
  const int64_t input_length = options.input_length;
  const int64_t forecast_length = options.forecast_length;
  const int64_t n = count_windows(rows, input_length, forecast_length);
  PreparedSplit split;
  split.rows = rows;
  split.inputs = NdArray(DType::float32, {n, input_length, channels});
  split.targets = NdArray(DType::float32, {n, forecast_length, channels});
  split.timestamps = NdArray(DType::int64, {n});
  float* inputs = split.inputs.data<float>();
  float* targets = split.targets.data<float>();
  int64_t* times = split.timestamps.data<int64_t>();
  const int64_t input_size = input_length * channels;
  const int64_t target_size = forecast_length * channels;
  for (int64_t w = 0; w < n; ++w) {
    const int64_t start = rows.begin + w;
    const double* source = scaled.data() + start * channels;
    for (int64_t k = 0; k < input_size; ++k)
      inputs[w * input_size + k] = static_cast<float>(source[k]);
    source += input_size;
    for (int64_t k = 0; k < target_size; ++k) {
      targets[w * target_size + k] = static_cast<float>(source[k]);
    }
    times[w] = timestamps[static_cast<size_t>(start + input_length)];
  }
  return split;
}

}  // namespace

SplitScheme parse_split_scheme(const std::string& text, const std::string& flag) {
  if (text == "chronological") return SplitScheme::chronological;
  if (text == "ett") return SplitScheme::ett;
  throw InputError(flag + ": unknown split '" + text + "' (expected chronological or ett)");
}

int64_t count_windows(const RowRange& rows, int64_t input_length, int64_t forecast_length) {
  return std::max<int64_t>(rows.size() - input_length - forecast_length + 1, 0);
}

void validate_prepare_options(const PrepareOptions& options) {
  if (options.input_file.empty())
    throw InputError("--input_file: missing (a .json or .csv series)");
  if (options.output_file.empty()) throw InputError("--output_file: missing (a .npz path)");
  if (std::filesystem::path(options.output_file).extension() != ".npz") {
    throw InputError("--output_file " + options.output_file + ": expected a path ending in .npz");
  }
  const auto parent = std::filesystem::path(options.output_file).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent)) {
    throw InputError("--output_file " + options.output_file + ": folder " + parent.string() +
                     " does not exist");
  }
  if (options.input_length <= 0) {
    throw InputError("--input_length: must be positive, got " +
                     std::to_string(options.input_length));
  }
  if (options.forecast_length <= 0) {
    throw InputError("--forecast_length: must be positive, got " +
                     std::to_string(options.forecast_length));
  }
  if (options.split == SplitScheme::chronological) {
    // `!(x > 0 && x < 1)` also rejects NaN.
    if (!(options.test_size > 0.0 && options.test_size < 1.0)) {
      throw InputError("--test_size: must be in (0, 1), got " + std::to_string(options.test_size));
    }
    if (!(options.val_size > 0.0 && options.val_size < 1.0)) {
      throw InputError("--val_size: must be in (0, 1), got " + std::to_string(options.val_size));
    }
    if (options.test_size + options.val_size >= 1.0) {
      throw InputError("--test_size + --val_size: must leave rows for training, got " +
                       std::to_string(options.test_size + options.val_size));
    }
  }
}

SplitRows compute_split_rows(const std::vector<int64_t>& timestamps,
                             const PrepareOptions& options) {
  const auto rows = static_cast<int64_t>(timestamps.size());
  const int64_t context = options.input_length;
  SplitRows split;
  std::string hint;
  if (options.split == SplitScheme::ett) {
    const int64_t month = kEttHoursPerMonth * ett_rows_per_hour(timestamps);
    const int64_t train_end = kEttTrainMonths * month;
    const int64_t val_end = train_end + kEttValMonths * month;
    const int64_t test_end = val_end + kEttTestMonths * month;
    if (rows < test_end) {
      throw InputError("--split ett: needs at least " + std::to_string(test_end) +
                       " rows (20 months of 30 days), the series has " + std::to_string(rows));
    }
    split.train = {0, train_end};
    split.val = {train_end - context, val_end};
    split.test = {val_end - context, test_end};
    hint = "lower --input_length or --forecast_length";
  } else {
    const auto test_rows =
        static_cast<int64_t>(std::floor(static_cast<double>(rows) * options.test_size));
    const auto val_rows =
        static_cast<int64_t>(std::floor(static_cast<double>(rows) * options.val_size));
    const int64_t train_rows = rows - test_rows - val_rows;
    split.train = {0, train_rows};
    split.val = {std::max<int64_t>(train_rows - context, 0), train_rows + val_rows};
    split.test = {std::max<int64_t>(rows - test_rows - context, 0), rows};
    hint = "the series has " + std::to_string(rows) +
           " rows; lower --input_length or --forecast_length, or change --test_size / --val_size";
  }
  check_split("train", split.train, options, hint);
  check_split("val", split.val, options, hint);
  check_split("test", split.test, options, hint);
  return split;
}

PreparedData prepare_windows(const TimeSeries& series, const PrepareOptions& options) {
  validate_prepare_options(options);
  const int64_t channels = series.num_channels();
  const int64_t rows = series.num_steps();
  if (channels <= 0 || static_cast<int64_t>(series.values.size()) != rows * channels) {
    throw InputError("prepare_windows: series values do not match its " + std::to_string(rows) +
                     " steps x " + std::to_string(channels) + " channels");
  }
  const int64_t window = options.input_length + options.forecast_length;
  if (rows < window) {
    throw InputError(options.input_file + ": " + std::to_string(rows) +
                     " rows, shorter than one window of --input_length " +
                     std::to_string(options.input_length) + " + --forecast_length " +
                     std::to_string(options.forecast_length));
  }
  const SplitRows split = compute_split_rows(series.timestamps, options);

  PreparedData data;
  data.columns = series.columns;
  data.report = series.report;
  data.rows = rows;
  data.first_time = series.timestamps.front();
  data.last_time = series.timestamps.back();
  // Scaler statistics from the training rows only: validation and test stay unseen.
  data.scaler = StandardScaler::fit(series.values.data(), split.train.end, channels);
  std::vector<double> scaled = series.values;
  data.scaler.transform(scaled.data(), rows);
  data.train = cut_windows(scaled, series.timestamps, channels, split.train, options);
  data.val = cut_windows(scaled, series.timestamps, channels, split.val, options);
  data.test = cut_windows(scaled, series.timestamps, channels, split.test, options);
  return data;
}

Npz prepared_to_npz(const PreparedData& data) {
  Npz npz;
  const std::pair<const char*, const PreparedSplit*> splits[] = {
      {"train", &data.train}, {"val", &data.val}, {"test", &data.test}};
  for (const auto& [name, split] : splits) {
    npz.set(std::string("X_") + name, split->inputs);
    npz.set(std::string("y_") + name, split->targets);
  }
  const auto channels = static_cast<int64_t>(data.columns.size());
  npz.set("scaler_mean", NdArray::from_values<double>({channels}, data.scaler.mean));
  npz.set("scaler_scale", NdArray::from_values<double>({channels}, data.scaler.scale));
  npz.set("columns", StringArray(data.columns));
  for (const auto& [name, split] : splits)
    npz.set(std::string("t_") + name, split->timestamps);
  return npz;
}

std::string prepare_summary(const PreparedData& data, const PrepareOptions& options) {
  std::ostringstream out;
  const TimeSeriesReport& report = data.report;
  out << "read " << report.rows_read << " rows from " << options.input_file
      << " (timestamp column '" << report.timestamp_column << "')\n";
  out << "duplicate timestamps dropped: " << report.duplicates_dropped << "\n";
  if (report.rows_filled > 0) out << "rows forward-filled: " << report.rows_filled << "\n";
  if (report.rows_dropped > 0)
    out << "rows dropped for missing values: " << report.rows_dropped << "\n";
  if (!report.ignored_columns.empty()) {
    out << "ignored text columns: " << join_names(report.ignored_columns) << "\n";
  }
  out << "series: " << data.rows << " rows from " << format_timestamp(data.first_time) << " to "
      << format_timestamp(data.last_time);
  out << "\ncolumns (" << data.columns.size() << "): " << join_names(data.columns) << "\n";
  out << "split " << (options.split == SplitScheme::ett ? "ett" : "chronological")
      << ", windows of " << options.input_length << " -> " << options.forecast_length << ":\n";
  const std::pair<const char*, const PreparedSplit*> splits[] = {
      {"train", &data.train}, {"val", &data.val}, {"test", &data.test}};
  for (const auto& [name, split] : splits) {
    out << "  " << name << ": rows " << range_text(split->rows) << " -> " << split->inputs.size(0)
        << " windows\n";
  }
  return out.str();
}

PreparedData run_prepare_data(const PrepareOptions& options) {
  validate_prepare_options(options);
  const TimeSeries series = load_time_series(options.input_file, options.format, options.series);
  PreparedData data = prepare_windows(series, options);
  write_npz(options.output_file, prepared_to_npz(data));
  return data;
}

}  // namespace ssmkit::io
