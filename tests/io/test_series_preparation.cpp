// prepare_data's pipeline as a library: split borders, scaler fitted on training rows only,
// windows and timestamps, the .npz layout, and the errors for sizes and lengths.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "io/io_test_helpers.h"
#include "ssmkit/io/file_bytes.h"
#include "ssmkit/io/series_preparation.h"
#include "ssmkit/io/timestamp.h"

namespace ssmkit::io {
namespace {

using ssmkit::testing::expect_input_error;
using ssmkit::testing::TempDir;

// The sample series read straight from its JSON, independently of the library's readers.
struct RawSeries {
  std::vector<int64_t> timestamps;
  std::vector<std::vector<double>> rows;  // (T, C)
};

RawSeries read_sample_raw(const std::string& path) {
  RawSeries raw;
  const auto json = nlohmann::json::parse(read_file_bytes(path));
  for (const auto& record : json) {
    raw.timestamps.push_back(*parse_timestamp(record["timestamp"].get<std::string>()));
    raw.rows.push_back({record["load"].get<double>(), record["temperature"].get<double>(),
                        record["humidity"].get<double>()});
  }
  return raw;
}

// An hourly series from a seeded generator, rows in time order.
TimeSeries synthetic_series(int64_t rows, int64_t channels, std::mt19937& rng) {
  std::normal_distribution<double> normal;
  TimeSeries series;
  for (int64_t c = 0; c < channels; ++c)
    series.columns.push_back("c" + std::to_string(c));
  for (int64_t t = 0; t < rows; ++t) {
    series.timestamps.push_back(1467331200 + 3600 * t);
    for (int64_t c = 0; c < channels; ++c)
      series.values.push_back(10.0 * c + normal(rng) + 0.01 * t);
  }
  return series;
}

PrepareOptions options_for(int64_t input_length, int64_t forecast_length) {
  PrepareOptions options;
  options.input_file = "series.json";
  options.output_file = "out.npz";
  options.input_length = input_length;
  options.forecast_length = forecast_length;
  return options;
}

TEST(SeriesPreparation, SampleFileEndToEnd) {
  const std::string sample = std::string(SSMKIT_SOURCE_DIR) + "/data/sample_series.json";
  const RawSeries raw = read_sample_raw(sample);
  ASSERT_EQ(raw.rows.size(), 2000u);
  TempDir dir;
  PrepareOptions options = options_for(48, 24);
  options.input_file = sample;
  options.output_file = dir.file("sample.npz");
  run_prepare_data(options);
  const Npz npz = read_npz(options.output_file);
  EXPECT_EQ(npz.names(), (std::vector<std::string>{"X_train", "y_train", "X_val", "y_val", "X_test",
                                                   "y_test", "scaler_mean", "scaler_scale",
                                                   "columns", "t_train", "t_val", "t_test"}));
  // 2000 rows: test 400, val 200, train 1400; val/test windows start 48 rows early.
  const int64_t n_train = 1400 - 72 + 1, n_val = (200 + 48) - 72 + 1, n_test = (400 + 48) - 72 + 1;
  npz.array("X_train").expect(DType::float32, {n_train, 48, 3}, "X_train", "(n, L, C)");
  npz.array("y_train").expect(DType::float32, {n_train, 24, 3}, "y_train", "(n, H, C)");
  npz.array("X_val").expect(DType::float32, {n_val, 48, 3}, "X_val", "(n, L, C)");
  npz.array("y_test").expect(DType::float32, {n_test, 24, 3}, "y_test", "(n, H, C)");
  npz.array("t_test").expect(DType::int64, {n_test}, "t_test", "(n,)");
  npz.array("scaler_mean").expect(DType::float64, {3}, "scaler_mean", "(C,)");
  EXPECT_EQ(npz.strings("columns").values,
            (std::vector<std::string>{"load", "temperature", "humidity"}));

  // Scaler: mean and population std of the 1400 training rows only (float64 reference).
  const double* mean = npz.array("scaler_mean").data<double>();
  const double* scale = npz.array("scaler_scale").data<double>();
  for (size_t c = 0; c < 3; ++c) {
    double m = 0, v = 0, all = 0;
    for (size_t t = 0; t < 1400; ++t)
      m += raw.rows[t][c];
    m /= 1400;
    for (size_t t = 0; t < 1400; ++t)
      v += (raw.rows[t][c] - m) * (raw.rows[t][c] - m);
    for (size_t t = 0; t < 2000; ++t)
      all += raw.rows[t][c];
    EXPECT_NEAR(mean[c], m, 1e-9 * std::fabs(m));
    EXPECT_NEAR(scale[c], std::sqrt(v / 1400), 1e-9);
    EXPECT_GT(std::fabs(mean[c] - all / 2000), 1e-3) << "statistics must not include val/test rows";
  }
  // Windows: X_split[w] = scaled rows [begin + w, begin + w + 48), y the next 24, t the first y
  // row.
  const auto check_window = [&](const std::string& split, int64_t w, int64_t begin) {
    SCOPED_TRACE(split + " window " + std::to_string(w));
    const float* x = npz.array("X_" + split).data<float>() + w * 48 * 3;
    const float* y = npz.array("y_" + split).data<float>() + w * 24 * 3;
    const int64_t start = begin + w;
    for (int64_t k = 0; k < 72; ++k) {
      for (size_t c = 0; c < 3; ++c) {
        const double expected = (raw.rows[static_cast<size_t>(start + k)][c] - mean[c]) / scale[c];
        const float got = k < 48 ? x[k * 3 + c] : y[(k - 48) * 3 + c];
        EXPECT_NEAR(got, expected, 1e-6 * (1 + std::fabs(expected)));
      }
    }
    EXPECT_EQ(npz.array("t_" + split).data<int64_t>()[w],
              raw.timestamps[static_cast<size_t>(start + 48)]);
  };
  check_window("train", 0, 0);
  check_window("train", n_train - 1, 0);
  check_window("val", 0, 1400 - 48);
  check_window("test", 0, 1600 - 48);
  check_window("test", n_test - 1, 1600 - 48);
  EXPECT_EQ(npz.array("t_val").data<int64_t>()[0], raw.timestamps[1400]) << "first val forecast";
  EXPECT_EQ(npz.array("t_test").data<int64_t>()[n_test - 1], raw.timestamps[2000 - 24]);
  EXPECT_EQ(dir.count_entries(), 1u);
}

TEST(SeriesPreparation, EttBordersAndLeakFreeScaler) {
  std::mt19937 rng(std::random_device{}());
  const TimeSeries series = synthetic_series(14400 + 37, 2, rng);
  PrepareOptions options = options_for(24, 12);
  options.split = SplitScheme::ett;
  const PreparedData data = prepare_windows(series, options);
  EXPECT_EQ(data.train.rows.begin, 0);
  EXPECT_EQ(data.train.rows.end, 8640);
  EXPECT_EQ(data.val.rows.begin, 8640 - 24);
  EXPECT_EQ(data.val.rows.end, 11520);
  EXPECT_EQ(data.test.rows.begin, 11520 - 24);
  EXPECT_EQ(data.test.rows.end, 14400);
  EXPECT_EQ(data.train.inputs.size(0), 8640 - 36 + 1);
  EXPECT_EQ(data.val.inputs.size(0), 2880 + 24 - 36 + 1);
  EXPECT_EQ(data.test.inputs.size(0), 2880 + 24 - 36 + 1);
  // Changing a value after the training rows must not move the scaler.
  TimeSeries poisoned = series;
  for (size_t i = 8640 * 2; i < poisoned.values.size(); ++i)
    poisoned.values[i] = 1e6;
  const PreparedData again = prepare_windows(poisoned, options);
  EXPECT_EQ(again.scaler.mean, data.scaler.mean);
  EXPECT_EQ(again.scaler.scale, data.scaler.scale);
  // 15-minute rows scale the borders by 4.
  TimeSeries quarter = synthetic_series(57600, 1, rng);
  for (size_t t = 0; t < quarter.timestamps.size(); ++t)
    quarter.timestamps[t] = 900 * static_cast<int64_t>(t);
  EXPECT_EQ(prepare_windows(quarter, options).val.rows.end, 46080);
  expect_input_error([&] { prepare_windows(synthetic_series(14399, 1, rng), options); },
                     {"--split ett", "14400 rows", "14399"});
}

TEST(SeriesPreparation, RejectsBadSizesAndLengths) {
  std::mt19937 rng(5);
  const TimeSeries series = synthetic_series(100, 2, rng);
  PrepareOptions options = options_for(0, 4);
  expect_input_error([&] { prepare_windows(series, options); },
                     {"--input_length", "positive", "0"});
  options = options_for(4, -1);
  expect_input_error([&] { prepare_windows(series, options); }, {"--forecast_length", "positive"});
  options = options_for(4, 4);
  options.test_size = 1.5;
  expect_input_error([&] { prepare_windows(series, options); }, {"--test_size", "(0, 1)"});
  options.test_size = 0.2;
  options.val_size = 0.0;
  expect_input_error([&] { prepare_windows(series, options); }, {"--val_size", "(0, 1)"});
  options.val_size = 0.8;
  expect_input_error([&] { prepare_windows(series, options); }, {"--test_size + --val_size"});
  options.val_size = 0.05;  // 5 val rows + 4 context rows: two windows of 4 + 4
  EXPECT_EQ(prepare_windows(series, options).val.inputs.size(0), 2);
  options.val_size = 0.01;  // 1 val row + 4 context rows: no window of 8
  expect_input_error([&] { prepare_windows(series, options); },
                     {"the val split", "fewer than one window", "--input_length 4",
                      "--forecast_length 4", "--val_size"});
  options = options_for(80, 30);
  expect_input_error([&] { prepare_windows(series, options); },
                     {"series.json", "100 rows", "shorter than one window"});
  options = options_for(4, 4);
  options.output_file = "out.npy";
  expect_input_error([&] { prepare_windows(series, options); }, {"--output_file", ".npz"});
  options.output_file = "/no/such/folder/out.npz";
  expect_input_error([&] { prepare_windows(series, options); },
                     {"--output_file", "does not exist"});
}

}  // namespace
}  // namespace ssmkit::io
