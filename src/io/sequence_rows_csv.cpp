// One-sequence-per-row numeric CSV files on top of the CSV reader (csv.h), which owns the file's
// syntax and its errors (missing file, empty file, ragged rows, quoting); this file adds only the
// numbers.
#include "ssmkit/io/sequence_rows_csv.h"

#include <cmath>

#include "ssmkit/io/csv.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/table.h"

namespace ssmkit::io {

SequenceRows read_sequence_rows_csv(const std::string& path) {
  const Table table = read_csv(path);
  SequenceRows out;
  out.header = table.column_names();
  out.length = table.num_columns();
  out.rows = table.num_rows();
  if (out.rows == 0) throw InputError(path + ": no data rows after the header");
  out.values.resize(static_cast<size_t>(out.rows * out.length));
  for (int64_t c = 0; c < out.length; ++c) {
    const TableColumn& column = table.columns()[static_cast<size_t>(c)];
    for (int64_t r = 0; r < out.rows; ++r) {
      const Cell& cell = column.cells[static_cast<size_t>(r)];
      const CellNumber number = cell_number(cell);
      if (number.kind != CellNumber::number || !std::isfinite(number.value)) {
        throw InputError(table.where(r) + ": column " + std::to_string(c + 1) + " ('" +
                         column.name + "') holds '" + cell_text(cell) +
                         "', expected a finite number");
      }
      out.values[static_cast<size_t>(r * out.length + c)] = static_cast<float>(number.value);
    }
  }
  return out;
}

}  // namespace ssmkit::io
