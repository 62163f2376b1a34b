// StandardScaler against a plain long-double reference; constant channels keep scale 1.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ssmkit/io/error.h"
#include "ssmkit/io/standard_scaler.h"

namespace ssmkit::io {
namespace {

TEST(StandardScaler, MatchesPopulationStatisticsAndInverts) {
  std::random_device rd;
  const unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(3.0, 7.0);
  const int64_t rows = 257, channels = 4;
  std::vector<double> values(rows * channels);
  for (double& v : values)
    v = normal(rng);
  for (int64_t r = 0; r < rows; ++r)
    values[r * channels + 2] = 5.0;  // constant channel
  const StandardScaler scaler = StandardScaler::fit(values.data(), rows, channels);
  for (int64_t c = 0; c < channels; ++c) {
    long double sum = 0, sq = 0;
    for (int64_t r = 0; r < rows; ++r)
      sum += values[r * channels + c];
    const long double mean = sum / rows;
    for (int64_t r = 0; r < rows; ++r)
      sq += std::pow(values[r * channels + c] - mean, 2);
    const double std_dev = static_cast<double>(std::sqrt(sq / rows));  // population (ddof = 0)
    EXPECT_NEAR(scaler.mean[c], static_cast<double>(mean),
                1e-12 * std::fabs(static_cast<double>(mean)) + 1e-12);
    EXPECT_NEAR(scaler.scale[c], c == 2 ? 1.0 : std_dev, 1e-12 * std_dev);
  }
  std::vector<double> scaled = values;
  scaler.transform(scaled.data(), rows);
  for (int64_t r = 0; r < rows; ++r)
    EXPECT_EQ(scaled[r * channels + 2], 0.0);
  scaler.inverse_transform(scaled.data(), rows);
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_NEAR(scaled[i], values[i], 1e-12 * 30);
  EXPECT_THROW(StandardScaler::fit(values.data(), 0, channels), ssmkit::InputError);
}

}  // namespace
}  // namespace ssmkit::io
