// Where Debian's data packages install the data sets that programs read by default.
#pragma once

namespace ssmkit::data {

// Debian's dataset-fashion-mnist: the four IDX .gz files.
inline constexpr const char* kDebianFashionMnistDir = "/usr/share/datasets/fashion-mnist";

}  // namespace ssmkit::data
