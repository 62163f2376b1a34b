// prepare_data's forecasting archives: the splits asked for, the scaler and the names load; every
// defect is an InputError naming the file and the array.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "io/io_test_helpers.h"
#include "ssmkit/data/array_tensor.h"
#include "ssmkit/data/forecast_npz.h"
#include "ssmkit/io/npz.h"

namespace ssmkit::data {
namespace {

using testing::expect_input_error;

io::Npz archive(int64_t n, int64_t L, int64_t H, int64_t C) {
  io::Npz npz;
  for (const char* split : {"train", "val"}) {
    npz.set(std::string("X_") + split, to_array(torch::randn({n, L, C})));
    npz.set(std::string("y_") + split, to_array(torch::randn({n, H, C})));
  }
  npz.set("scaler_mean", to_array(torch::arange(C, torch::kDouble)));
  npz.set("scaler_scale", to_array(torch::full({C}, 2.0, torch::kDouble)));
  return npz;
}

TEST(ForecastNpz, LoadsSplitsScalerAndDefaultNames) {
  testing::TempDir dir;
  io::Npz npz = archive(5, 8, 3, 2);
  const at::Tensor x_val = to_tensor(npz.array("X_val"));
  io::write_npz(dir.file("a.npz"), npz);
  const ForecastDataset d = load_forecast_npz(dir.file("a.npz"), {"train", "val"});
  EXPECT_EQ(d.input_length, 8);
  EXPECT_EQ(d.forecast_length, 3);
  EXPECT_EQ(d.channels, 2);
  EXPECT_EQ(d.columns, (std::vector<std::string>{"channel 0", "channel 1"}));
  EXPECT_TRUE(torch::equal(d.split("val").inputs, x_val));
  EXPECT_EQ(d.split("train").size(), 5);
  const at::Tensor original = d.to_original_units(torch::ones({4, 2}));
  EXPECT_TRUE(torch::equal(original, torch::tensor({2.0, 3.0}, torch::kDouble).expand({4, 2})));
  npz.set("columns", io::StringArray({"load", "temp"}));
  io::write_npz(dir.file("b.npz"), npz);
  EXPECT_EQ(load_forecast_npz(dir.file("b.npz"), {"val"}).columns,
            (std::vector<std::string>{"load", "temp"}));
}

TEST(ForecastNpz, DefectsNameTheFileAndTheArray) {
  testing::TempDir dir;
  const auto write = [&](const std::string& name, const io::Npz& npz) {
    io::write_npz(dir.file(name), npz);
    return dir.file(name);
  };
  expect_input_error([&] { load_forecast_npz(dir.file("absent.npz"), {"train"}); }, {"absent.npz"});
  expect_input_error([&] { load_forecast_npz(write("ok.npz", archive(4, 8, 3, 2)), {"test"}); },
                     {"ok.npz", "X_test"});
  io::Npz npz = archive(4, 8, 3, 2);
  npz.set("X_val", to_array(torch::randn({4, 8, 3}, torch::kDouble)));
  expect_input_error([&] { load_forecast_npz(write("f64.npz", npz), {"val"}); },
                     {"f64.npz", "X_val", "float64"});
  npz = archive(4, 8, 3, 2);
  npz.set("y_val", to_array(torch::randn({5, 3, 2})));
  expect_input_error([&] { load_forecast_npz(write("rows.npz", npz), {"val"}); },
                     {"rows.npz", "y_val", "(5, 3, 2)", "to match X_val"});
  npz = archive(4, 8, 3, 2);
  npz.set("X_val", to_array(torch::randn({4, 6, 2})));
  expect_input_error(
      [&] {
        load_forecast_npz(write("len.npz", npz), {"train", "val"});
      },
      {"len.npz", "X_val", "6 -> 3 steps", "train's 8 -> 3"});
  npz = archive(4, 8, 3, 2);
  at::Tensor y = torch::randn({4, 3, 2});
  y[2][1][0] = std::numeric_limits<float>::infinity();
  npz.set("y_train", to_array(y));
  expect_input_error([&] { load_forecast_npz(write("inf.npz", npz), {"train"}); },
                     {"inf.npz", "y_train", "non-finite", "window 2, step 1, channel 0"});
  npz = archive(4, 8, 3, 2);
  npz.set("scaler_scale", to_array(torch::tensor({1.0, 0.0}, torch::kDouble)));
  expect_input_error([&] { load_forecast_npz(write("scale.npz", npz), {"train"}); },
                     {"scale.npz", "scaler_scale", "value 1", "> 0"});
  npz = archive(4, 8, 3, 2);
  npz.set("scaler_mean", to_array(torch::zeros({3}, torch::kDouble)));
  expect_input_error([&] { load_forecast_npz(write("mean.npz", npz), {"train"}); },
                     {"mean.npz", "scaler_mean", "(3,)", "(2,)"});
  npz = archive(0, 8, 3, 2);
  expect_input_error([&] { load_forecast_npz(write("empty.npz", npz), {"train"}); },
                     {"empty.npz", "X_train", "no window"});
  npz = archive(4, 8, 3, 2);
  npz.set("columns", io::StringArray({"only one"}));
  expect_input_error([&] { load_forecast_npz(write("names.npz", npz), {"train"}); },
                     {"names.npz", "columns", "one name per channel"});
}

}  // namespace
}  // namespace ssmkit::data
