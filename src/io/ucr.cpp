// UCR .tsv reader and the train/test dataset loader.
#include "ssmkit/io/ucr.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "ssmkit/io/error.h"
#include "ssmkit/io/file_bytes.h"
#include "ssmkit/io/number_text.h"

namespace ssmkit::io {
namespace {

constexpr char kSeparator = '\t';
// Labels are stored as doubles in old files ("1.0000000e+00"); beyond 2^53 they stop being exact.
constexpr double kMaxExactLabel = 9007199254740992.0;

std::string field_where(const std::string& origin, int64_t line, size_t field) {
  return origin + " line " + std::to_string(line) + ", field " + std::to_string(field + 1);
}

std::string find_ucr_file(const std::string& folder, const std::string& name,
                          const std::string& suffix) {
  const std::string file = name + suffix;
  for (const std::filesystem::path& path :
       {std::filesystem::path(folder) / file, std::filesystem::path(folder) / name / file}) {
    if (std::filesystem::is_regular_file(path)) return path.string();
  }
  throw InputError(folder + ": no " + file + " (looked in " + folder + " and " + folder + "/" +
                   name + ")");
}

}  // namespace

UcrSplit parse_ucr_tsv(std::string_view text, const std::string& origin) {
  std::vector<double> values;
  std::vector<int64_t> labels;
  int64_t width = -1;  // values per row, from the first row
  int64_t line = 0;
  int64_t blank_line = 0;  // first blank line seen, an error if data follows it
  size_t pos = 0;
  while (pos < text.size()) {
    ++line;
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view row = text.substr(pos, end - pos);
    pos = end + 1;
    row = trim_blanks(row);  // CR of CRLF files, stray trailing blanks
    if (row.empty()) {
      if (blank_line == 0) blank_line = line;
      continue;
    }
    if (blank_line != 0) {
      throw InputError(origin + " line " + std::to_string(blank_line) +
                       ": blank line between series (expected one series per line)");
    }
    size_t field = 0;
    size_t start = 0;
    const size_t first_value = values.size();
    while (true) {
      const size_t stop = std::min(row.find(kSeparator, start), row.size());
      const std::string_view token = row.substr(start, stop - start);
      const NumberText number = parse_number_text(token);
      if (number.kind != NumberTextKind::number) {
        throw InputError(field_where(origin, line, field) + ": '" + std::string(token) + "' is " +
                         (number.kind == NumberTextKind::missing
                              ? "missing or NaN (variable-length series are not supported)"
                              : "not a finite number"));
      }
      if (field == 0) {
        if (number.value != std::floor(number.value) || std::fabs(number.value) > kMaxExactLabel) {
          throw InputError(field_where(origin, line, field) + ": label '" + std::string(token) +
                           "' is not a whole number");
        }
        labels.push_back(static_cast<int64_t>(number.value));
      } else {
        values.push_back(number.value);
      }
      ++field;
      if (stop >= row.size()) break;
      start = stop + 1;
    }
    const auto row_width = static_cast<int64_t>(values.size() - first_value);
    if (row_width == 0) {
      throw InputError(origin + " line " + std::to_string(line) +
                       ": a label without values (expected <label>\\t<v1>\\t<v2>...)");
    }
    if (width < 0) width = row_width;
    if (row_width != width) {
      throw InputError(origin + " line " + std::to_string(line) + ": " + std::to_string(row_width) +
                       " values, expected " + std::to_string(width) +
                       " as on the first line (ragged rows are not supported)");
    }
  }
  if (labels.empty()) throw InputError(origin + ": empty file, expected UCR series");
  const auto n = static_cast<int64_t>(labels.size());
  return UcrSplit{NdArray::from_values<double>({n, width}, values),
                  NdArray::from_values<int64_t>({n}, labels)};
}

UcrSplit read_ucr_tsv(const std::string& path) {
  return parse_ucr_tsv(read_file_bytes(path), path);
}

UcrDataset load_ucr_dataset(const std::string& folder, const std::string& name) {
  const std::string train_path = find_ucr_file(folder, name, "_TRAIN.tsv");
  const std::string test_path = find_ucr_file(folder, name, "_TEST.tsv");
  UcrDataset dataset{read_ucr_tsv(train_path), read_ucr_tsv(test_path), {}};
  if (dataset.train.series.size(1) != dataset.test.series.size(1)) {
    throw InputError(test_path + ": series of length " +
                     std::to_string(dataset.test.series.size(1)) + ", but " + train_path +
                     " has length " + std::to_string(dataset.train.series.size(1)));
  }
  for (const UcrSplit* split : {&dataset.train, &dataset.test}) {
    const int64_t* labels = split->labels.data<int64_t>();
    dataset.classes.insert(dataset.classes.end(), labels, labels + split->labels.numel());
  }
  std::sort(dataset.classes.begin(), dataset.classes.end());
  dataset.classes.erase(std::unique(dataset.classes.begin(), dataset.classes.end()),
                        dataset.classes.end());
  for (UcrSplit* split : {&dataset.train, &dataset.test}) {
    int64_t* labels = split->labels.data<int64_t>();
    for (int64_t i = 0; i < split->labels.numel(); ++i) {
      labels[i] = std::lower_bound(dataset.classes.begin(), dataset.classes.end(), labels[i]) -
                  dataset.classes.begin();
    }
  }
  return dataset;
}

}  // namespace ssmkit::io
