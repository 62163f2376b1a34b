// UCR time-series classification archive (2018 .tsv layout): one series per line, the class label
// first, then the values, tab-separated, no header.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ssmkit/io/nd_array.h"

namespace ssmkit::io {

struct UcrSplit {
  NdArray series;  // (N, L) float64
  NdArray labels;  // (N,) int64: the labels as written (read_ucr_tsv) or class indices
                   // (load_ucr_dataset)
};

// Parses UCR .tsv text. Labels must be whole numbers ("1", "-1", "1.0"); values finite numbers.
// Trailing blank lines are ignored. Throws InputError naming `origin`, the line and the field for
// an empty input, a blank line between rows, a row with a different number of fields than the first
// (ragged), a row without values, and a non-numeric, NaN or infinite field.
UcrSplit parse_ucr_tsv(std::string_view text, const std::string& origin);

// parse_ucr_tsv() on the contents of `path`.
UcrSplit read_ucr_tsv(const std::string& path);

struct UcrDataset {
  UcrSplit train, test;          // labels re-coded as class indices 0..K-1
  std::vector<int64_t> classes;  // (K,) the original labels, sorted: index i <-> classes[i]
};

// Loads <name>_TRAIN.tsv and <name>_TEST.tsv from `folder` or from `folder`/<name> (the archive's
// layout), checks both have the same series length, and maps the labels of both splits to class
// indices through the sorted union of their labels.
UcrDataset load_ucr_dataset(const std::string& folder, const std::string& name);

}  // namespace ssmkit::io
