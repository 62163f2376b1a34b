// Table: named columns of cells with the source position of every row.
#include "ssmkit/io/table.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "ssmkit/io/error.h"
#include "ssmkit/io/number_text.h"

namespace ssmkit::io {

CellNumber cell_number(const Cell& cell) {
  if (std::holds_alternative<std::monostate>(cell)) return {CellNumber::missing, 0.0};
  if (const double* value = std::get_if<double>(&cell)) {
    if (std::isnan(*value)) return {CellNumber::missing, 0.0};
    if (std::isinf(*value)) return {CellNumber::invalid, 0.0};
    return {CellNumber::number, *value};
  }
  const NumberText parsed = parse_number_text(std::get<std::string>(cell));
  switch (parsed.kind) {
    case NumberTextKind::number:
      return {CellNumber::number, parsed.value};
    case NumberTextKind::missing:
      return {CellNumber::missing, 0.0};
    case NumberTextKind::invalid:
      break;
  }
  return {CellNumber::invalid, 0.0};
}

std::string cell_text(const Cell& cell) {
  if (const double* value = std::get_if<double>(&cell)) {
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), *value);
    return std::string(buffer, result.ptr);
  }
  if (const std::string* text = std::get_if<std::string>(&cell)) return *text;
  return "";
}

Table::Table(std::string origin, std::string row_unit)
    : origin_(std::move(origin)), row_unit_(std::move(row_unit)) {}

std::vector<std::string> Table::column_names() const {
  std::vector<std::string> names;
  names.reserve(columns_.size());
  for (const TableColumn& column : columns_)
    names.push_back(column.name);
  return names;
}

std::optional<size_t> Table::find_column(std::string_view name) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].name == name) return i;
  }
  return std::nullopt;
}

const TableColumn& Table::column(std::string_view name) const {
  if (const auto index = find_column(name)) return columns_[*index];
  std::string available;
  for (const TableColumn& column : columns_) {
    available += (available.empty() ? "'" : ", '") + column.name + "'";
  }
  throw InputError(origin_ + ": no column '" + std::string(name) + "' (columns: " + available +
                   ")");
}

std::string Table::where(int64_t row) const {
  return origin_ + " " + row_unit_ + " " + std::to_string(row_position(row));
}

std::vector<double> Table::numeric_column(std::string_view name) const {
  const TableColumn& col = column(name);
  std::vector<double> values(col.cells.size());
  for (size_t row = 0; row < col.cells.size(); ++row) {
    const CellNumber number = cell_number(col.cells[row]);
    if (number.kind == CellNumber::invalid) {
      throw InputError(where(static_cast<int64_t>(row)) + ", column '" + col.name + "': '" +
                       cell_text(col.cells[row]) + "' is not a finite number");
    }
    values[row] =
        number.kind == CellNumber::number ? number.value : std::numeric_limits<double>::quiet_NaN();
  }
  return values;
}

size_t Table::add_column(std::string name) {
  columns_.push_back(TableColumn{std::move(name), std::vector<Cell>(row_positions_.size())});
  return columns_.size() - 1;
}

int64_t Table::add_row(int64_t position) {
  row_positions_.push_back(position);
  for (TableColumn& column : columns_)
    column.cells.emplace_back();
  return num_rows() - 1;
}

void Table::set(size_t column, int64_t row, Cell cell) {
  columns_.at(column).cells.at(static_cast<size_t>(row)) = std::move(cell);
}

}  // namespace ssmkit::io
