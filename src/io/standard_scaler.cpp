// StandardScaler fit/transform in float64.
#include "ssmkit/io/standard_scaler.h"

#include <cmath>
#include <limits>

#include "ssmkit/io/error.h"

namespace ssmkit::io {
namespace {

// sklearn treats a std below 10 machine epsilons as zero (constant feature) and keeps scale 1.
constexpr double kConstantScale = 10 * std::numeric_limits<double>::epsilon();

}  // namespace

StandardScaler StandardScaler::fit(const double* values, int64_t rows, int64_t channels) {
  if (rows <= 0 || channels <= 0) {
    throw InputError("StandardScaler::fit: needs at least one row and one channel, got " +
                     std::to_string(rows) + " x " + std::to_string(channels));
  }
  StandardScaler scaler;
  scaler.mean.assign(static_cast<size_t>(channels), 0.0);
  scaler.scale.assign(static_cast<size_t>(channels), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < channels; ++c)
      scaler.mean[c] += values[r * channels + c];
  }
  for (double& m : scaler.mean)
    m /= static_cast<double>(rows);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < channels; ++c) {
      const double d = values[r * channels + c] - scaler.mean[c];
      scaler.scale[c] += d * d;
    }
  }
  for (double& s : scaler.scale) {
    s = std::sqrt(s / static_cast<double>(rows));
    if (s < kConstantScale) s = 1.0;
  }
  return scaler;
}

void StandardScaler::transform(double* values, int64_t rows) const {
  const int64_t n = channels();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < n; ++c) {
      values[r * n + c] = (values[r * n + c] - mean[c]) / scale[c];
    }
  }
}

void StandardScaler::inverse_transform(double* values, int64_t rows) const {
  const int64_t n = channels();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < n; ++c)
      values[r * n + c] = values[r * n + c] * scale[c] + mean[c];
  }
}

}  // namespace ssmkit::io
