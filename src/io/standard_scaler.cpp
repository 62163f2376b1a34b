// StandardScaler fit/transform in float64, on Eigen row-major maps of the caller's buffer (no
// copy).
#include "ssmkit/io/standard_scaler.h"

#include <Eigen/Core>

#include <limits>

#include "ssmkit/io/error.h"

namespace ssmkit::io {
namespace {

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Values = Eigen::Map<RowMajor>;                         // (rows, channels)
using ConstValues = Eigen::Map<const RowMajor>;              // (rows, channels)
using Channels = Eigen::Map<Eigen::RowVectorXd>;             // (channels,)
using ConstChannels = Eigen::Map<const Eigen::RowVectorXd>;  // (channels,)

// sklearn treats a std below 10 machine epsilons as zero (constant feature) and keeps scale 1.
constexpr double kConstantScale = 10 * std::numeric_limits<double>::epsilon();

}  // namespace

StandardScaler StandardScaler::fit(const double* values, int64_t rows, int64_t channels) {
  if (rows <= 0 || channels <= 0) {
    throw InputError("StandardScaler::fit: needs at least one row and one channel, got " +
                     std::to_string(rows) + " x " + std::to_string(channels));
  }
  const ConstValues x(values, rows, channels);
  StandardScaler scaler;
  scaler.mean.resize(static_cast<size_t>(channels));
  scaler.scale.resize(static_cast<size_t>(channels));
  Channels mean(scaler.mean.data(), channels);
  Channels scale(scaler.scale.data(), channels);
  // Two passes (mean, then squared deviations) keep the float64 variance exact enough for
  // series with a large offset, where E[x^2] - E[x]^2 cancels.
  mean = x.colwise().mean();
  scale = ((x.rowwise() - mean).array().square().colwise().sum() / static_cast<double>(rows))
              .sqrt()
              .matrix();
  scale = (scale.array() < kConstantScale).select(1.0, scale.array()).matrix();
  return scaler;
}

void StandardScaler::transform(double* values, int64_t rows) const {
  Values x(values, rows, channels());
  const ConstChannels m(mean.data(), channels());
  const ConstChannels s(scale.data(), channels());
  x = ((x.rowwise() - m).array().rowwise() / s.array()).matrix();
}

void StandardScaler::inverse_transform(double* values, int64_t rows) const {
  Values x(values, rows, channels());
  const ConstChannels m(mean.data(), channels());
  const ConstChannels s(scale.data(), channels());
  x = (x.array().rowwise() * s.array()).matrix().rowwise() + m;
}

}  // namespace ssmkit::io
