// Reads a CSV of equal-length numeric sequences, one per row under a header line (the format of
// data/toy_sequences.csv). Strict: every malformed cell is an InputError naming file, line, column.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ssmkit::io {

struct SequenceRows {
  std::vector<std::string> header;  // column names, one per time step
  int64_t rows = 0;                 // number of sequences
  int64_t length = 0;               // values per sequence (= header.size())
  std::vector<float> values;        // rows * length, row-major
};

// Throws InputError for a missing or unreadable file, an empty file, a row with a different number
// of cells than the header, a cell that is not a finite number, or no data rows.
SequenceRows read_sequence_rows_csv(const std::string& path);

}  // namespace ssmkit::io
