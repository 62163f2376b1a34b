// Per-channel standardisation like sklearn's StandardScaler: mean and population standard
// deviation, a constant channel gets scale 1.
#pragma once

#include <cstdint>
#include <vector>

namespace ssmkit::io {

struct StandardScaler {
  std::vector<double> mean;   // (C,)
  std::vector<double> scale;  // (C,) population std; 1 where the std is ~0

  // Fits on rows [0, rows) of `values` (rows, channels) row-major, in float64 with two passes.
  static StandardScaler fit(const double* values, int64_t rows, int64_t channels);

  // values = (values - mean) / scale, in place, for `rows` rows.
  void transform(double* values, int64_t rows) const;
  // values = values * scale + mean, in place.
  void inverse_transform(double* values, int64_t rows) const;

  int64_t channels() const { return static_cast<int64_t>(mean.size()); }
};

}  // namespace ssmkit::io
