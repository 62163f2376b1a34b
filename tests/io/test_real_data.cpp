// The readers on the real data sets in ../shared/data and Debian's Fashion-MNIST; each test skips
// with a message when its file is absent.
#include <gtest/gtest.h>

#include <cmath>

#include "io/io_test_helpers.h"
#include "ssmkit/io/csv.h"
#include "ssmkit/io/idx.h"
#include "ssmkit/io/npz.h"
#include "ssmkit/io/series_preparation.h"
#include "ssmkit/io/time_series.h"
#include "ssmkit/io/ucr.h"
#include "test_helpers.h"

namespace ssmkit::io {
namespace {

using ssmkit::testing::shared_data_path;
using ssmkit::testing::TempDir;

constexpr const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

#define SKIP_IF_EMPTY(path, what) \
  if ((path).empty()) GTEST_SKIP() << what << " not found under ../shared/data; skipped"

TEST(RealData, EtthCsvShapeAndValues) {
  const std::string path = shared_data_path("ett/ETTh1.csv");
  SKIP_IF_EMPTY(path, "ett/ETTh1.csv");
  const Table table = read_csv(path);
  EXPECT_EQ(table.num_rows(), 17420);
  EXPECT_EQ(table.column_names(), (std::vector<std::string>{"date", "HUFL", "HULL", "MUFL", "MULL",
                                                            "LUFL", "LULL", "OT"}));
  EXPECT_DOUBLE_EQ(table.numeric_column("OT")[0], 30.5310001373291);
  const TimeSeries series = assemble_time_series(table, {});
  EXPECT_EQ(series.num_steps(), 17420);
  EXPECT_EQ(series.num_channels(), 7);
  EXPECT_EQ(series.report.duplicates_dropped, 0);
  EXPECT_EQ(series.timestamps.front(), 1467331200);  // 2016-07-01 00:00:00
  EXPECT_EQ(series.timestamps.back() - series.timestamps.front(), 3600 * 17419);
}

TEST(RealData, EtthPrepareWithEttSplit) {
  const std::string path = shared_data_path("ett/ETTh1.csv");
  SKIP_IF_EMPTY(path, "ett/ETTh1.csv");
  TempDir dir;
  PrepareOptions options;
  options.input_file = path;
  options.output_file = dir.file("etth1.npz");
  options.input_length = 96;
  options.forecast_length = 96;
  options.split = SplitScheme::ett;
  const PreparedData data = run_prepare_data(options);
  // The LTSF loaders' counts for 96 -> 96: len(rows) - input_length - forecast_length + 1 over
  // [0, 8640), [8544, 11520), [11424, 14400).
  EXPECT_EQ(data.train.inputs.size(0), 8449);
  EXPECT_EQ(data.val.inputs.size(0), 2785);
  EXPECT_EQ(data.test.inputs.size(0), 2785);
  const Npz npz = read_npz(options.output_file);
  npz.array("X_train").expect(DType::float32, {8449, 96, 7}, "X_train", "(n, L, C)");
  npz.array("y_test").expect(DType::float32, {2785, 96, 7}, "y_test", "(n, H, C)");
  // The first test forecast starts at row 11520 = 2017-10-20 00:00:00 (2016-07-01 + 480 days).
  EXPECT_EQ(npz.array("t_test").data<int64_t>()[0], 1467331200 + 11520 * 3600);
}

TEST(RealData, ExchangeRateWithoutTrailingNewline) {
  const std::string path = shared_data_path("ltsf/exchange_rate.csv");
  SKIP_IF_EMPTY(path, "ltsf/exchange_rate.csv");
  const TimeSeries series = load_time_series(path, SeriesFormat::automatic, {});
  EXPECT_EQ(series.num_steps(), 7588);
  EXPECT_EQ(series.num_channels(), 8);
  EXPECT_EQ(series.timestamps.front(), 631152000);   // 1990/1/1 0:00
  EXPECT_DOUBLE_EQ(series.values.back(), 0.692689);  // last field of the unterminated last line
}

TEST(RealData, UcrEcg5000Train) {
  const std::string path = shared_data_path("ucr/ECG5000/ECG5000_TRAIN.tsv");
  SKIP_IF_EMPTY(path, "ucr/ECG5000/ECG5000_TRAIN.tsv");
  const UcrSplit split = read_ucr_tsv(path);
  split.series.expect(DType::float64, {500, 140}, "ECG5000 series", "(N, L)");
  EXPECT_DOUBLE_EQ(split.series.data<double>()[0], -0.11252183);
  std::vector<int64_t> counts(6, 0);
  for (const int64_t label : split.labels.to_vector<int64_t>())
    ++counts.at(static_cast<size_t>(label));
  EXPECT_EQ(counts, (std::vector<int64_t>{0, 292, 177, 10, 19, 2}));
}

TEST(RealData, MnistTestSplit) {
  const std::string images = shared_data_path("mnist/t10k-images-idx3-ubyte.gz");
  SKIP_IF_EMPTY(images, "mnist/t10k-images-idx3-ubyte.gz");
  const NdArray raw = read_idx(images);
  raw.expect(DType::uint8, {10000, 28, 28}, "MNIST t10k images", "(N, H, W)");
  const LabelledImages split =
      load_mnist_split(std::filesystem::path(images).parent_path().string(), DatasetSplit::test);
  split.images.expect(DType::uint8, {10000, 1, 28, 28}, "MNIST images", "(N, 1, H, W)");
  EXPECT_EQ(split.labels.data<int64_t>()[0], 7);  // the first MNIST test digit is a 7
  EXPECT_TRUE(split.images == raw.reshaped({10000, 1, 28, 28}));
}

TEST(RealData, FashionMnistBothSplits) {
  if (!std::filesystem::exists(std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << kFashionMnist << " not found (apt-get install dataset-fashion-mnist); skipped";
  }
  const LabelledImages train = load_mnist_split(kFashionMnist, DatasetSplit::train);
  const LabelledImages test = load_mnist_split(kFashionMnist, DatasetSplit::test);
  train.images.expect(DType::uint8, {60000, 1, 28, 28}, "Fashion-MNIST train", "(N, 1, H, W)");
  test.images.expect(DType::uint8, {10000, 1, 28, 28}, "Fashion-MNIST test", "(N, 1, H, W)");
  std::vector<int64_t> counts(10, 0);
  for (const int64_t label : train.labels.to_vector<int64_t>())
    ++counts.at(static_cast<size_t>(label));
  EXPECT_EQ(counts, std::vector<int64_t>(10, 6000));  // balanced classes
}

}  // namespace
}  // namespace ssmkit::io
