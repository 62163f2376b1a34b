// A table read from a CSV or JSON file: named columns of cells (missing, number or text), and for
// every row the line or record it came from, so later checks can point at the exact place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ssmkit::io {

// One cell: std::monostate when missing (JSON null, absent key), a JSON number, or text (every CSV
// cell, JSON strings).
using Cell = std::variant<std::monostate, double, std::string>;

struct TableColumn {
  std::string name;
  std::vector<Cell> cells;  // one per row
};

// What a cell means as a number.
struct CellNumber {
  enum Kind { number, missing, invalid } kind = invalid;
  double value = 0.0;
};
CellNumber cell_number(const Cell& cell);
// The cell as text for messages: numbers printed shortest, missing as "".
std::string cell_text(const Cell& cell);

class Table {
 public:
  // `origin` (usually the file path) and `row_unit` ("line", "record", "row") name positions in
  // messages: "<origin> line 17".
  Table(std::string origin, std::string row_unit);

  const std::string& origin() const { return origin_; }
  const std::string& row_unit() const { return row_unit_; }
  int64_t num_rows() const { return static_cast<int64_t>(row_positions_.size()); }
  int64_t num_columns() const { return static_cast<int64_t>(columns_.size()); }
  const std::vector<TableColumn>& columns() const { return columns_; }
  std::vector<std::string> column_names() const;

  // Index of the column named `name`, or nullopt.
  std::optional<size_t> find_column(std::string_view name) const;
  // The column named `name`; throws InputError naming the file and listing the columns.
  const TableColumn& column(std::string_view name) const;

  // "<origin> line 17" for row `row`.
  std::string where(int64_t row) const;
  // The position number printed for row `row` (line number, record index).
  int64_t row_position(int64_t row) const { return row_positions_[static_cast<size_t>(row)]; }

  // The column as numbers, NaN where missing. Throws InputError at the first cell that is neither a
  // number nor a missing marker, naming the file, row position, column and text.
  std::vector<double> numeric_column(std::string_view name) const;

  // Building. Columns first, then rows: add_row() appends an empty (missing) cell to every column
  // and returns the row index; set() fills one cell.
  size_t add_column(std::string name);
  int64_t add_row(int64_t position);
  void set(size_t column, int64_t row, Cell cell);

 private:
  std::string origin_;
  std::string row_unit_;
  std::vector<int64_t> row_positions_;
  std::vector<TableColumn> columns_;
};

}  // namespace ssmkit::io
