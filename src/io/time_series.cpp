// Time series assembly: timestamps, duplicates, ordering, column selection, missing values.
#include "ssmkit/io/time_series.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <unordered_set>

#include "ssmkit/io/ascii_case.h"
#include "ssmkit/io/csv.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/json_series.h"
#include "ssmkit/io/timestamp.h"

namespace ssmkit::io {
namespace {

// Column names tried, in this order, when no timestamp column is given.
const std::vector<std::string> kTimestampColumnNames = {"timestamp", "date", "time", "datetime"};
// Positions listed in a message before "...": enough to find the problem, short enough to read.
constexpr size_t kMaxListedPositions = 5;

std::string extension_of(const std::string& path) {
  return ascii_lower(std::filesystem::path(path).extension().string());
}

size_t find_timestamp_column(const Table& table, const std::string& requested) {
  if (!requested.empty()) {
    if (const auto index = table.find_column(requested)) return *index;
    table.column(requested);  // throws, listing the columns
  }
  for (const std::string& candidate : kTimestampColumnNames) {
    for (size_t c = 0; c < table.columns().size(); ++c) {
      if (ascii_lower(table.columns()[c].name) == candidate) return c;
    }
  }
  std::string names;
  for (const std::string& name : table.column_names())
    names += (names.empty() ? "'" : ", '") + name + "'";
  throw InputError(table.origin() + ": no timestamp column (looked for timestamp, date, time, " +
                   "datetime; columns: " + names + "); name it with --timestamp_column");
}

std::vector<int64_t> parse_timestamps(const Table& table, const TableColumn& column) {
  std::vector<int64_t> timestamps(column.cells.size());
  for (size_t row = 0; row < column.cells.size(); ++row) {
    const Cell& cell = column.cells[row];
    std::optional<int64_t> parsed;
    if (const double* number = std::get_if<double>(&cell)) {
      parsed = timestamp_from_number(*number);
    } else if (const std::string* text = std::get_if<std::string>(&cell)) {
      parsed = parse_timestamp(*text);
    }
    if (!parsed) {
      const std::string where =
          table.where(static_cast<int64_t>(row)) + ", column '" + column.name + "'";
      if (std::holds_alternative<std::monostate>(cell) ||
          (std::holds_alternative<std::string>(cell) && std::get<std::string>(cell).empty())) {
        throw InputError(where + ": missing timestamp");
      }
      throw InputError(where + ": cannot parse timestamp '" + cell_text(cell) + "' (expected " +
                       kTimestampFormats + ")");
    }
    timestamps[row] = *parsed;
  }
  return timestamps;
}

// True when every cell is a number or missing and one at least is a number.
bool is_numeric_column(const TableColumn& column) {
  bool any_number = false;
  for (const Cell& cell : column.cells) {
    const CellNumber number = cell_number(cell);
    if (number.kind == CellNumber::invalid) return false;
    any_number = any_number || number.kind == CellNumber::number;
  }
  return any_number;
}

// A column with some numbers and some text is a typo, not a text column.
bool has_some_number(const TableColumn& column) {
  return std::any_of(column.cells.begin(), column.cells.end(),
                     [](const Cell& cell) { return cell_number(cell).kind == CellNumber::number; });
}

// "line 5 ('OT'), line 9 ('HUFL'), ..." for the first few (row, column) pairs.
std::string list_cells(const Table& table,
                       const std::vector<std::pair<int64_t, std::string>>& cells) {
  std::string text;
  for (size_t i = 0; i < cells.size() && i < kMaxListedPositions; ++i) {
    text += (i == 0 ? "" : ", ") + table.row_unit() + " " +
            std::to_string(table.row_position(cells[i].first)) + " ('" + cells[i].second + "')";
  }
  if (cells.size() > kMaxListedPositions) text += ", ...";
  return text;
}

}  // namespace

SeriesFormat parse_series_format(const std::string& text, const std::string& flag) {
  if (text == "auto") return SeriesFormat::automatic;
  if (text == "csv") return SeriesFormat::csv;
  if (text == "json") return SeriesFormat::json;
  throw InputError(flag + ": unknown format '" + text + "' (expected auto, csv or json)");
}

FillPolicy parse_fill_policy(const std::string& text, const std::string& flag) {
  if (text == "error") return FillPolicy::error;
  if (text == "ffill") return FillPolicy::ffill;
  if (text == "drop") return FillPolicy::drop;
  throw InputError(flag + ": unknown fill policy '" + text + "' (expected error, ffill or drop)");
}

TimeSeries assemble_time_series(const Table& table, const TimeSeriesOptions& options) {
  TimeSeries series;
  TimeSeriesReport& report = series.report;
  report.rows_read = table.num_rows();
  if (table.num_rows() == 0) throw InputError(table.origin() + ": no data rows");

  const size_t time_index = find_timestamp_column(table, options.timestamp_column);
  const TableColumn& time_column = table.columns()[time_index];
  report.timestamp_column = time_column.name;
  const std::vector<int64_t> all_times = parse_timestamps(table, time_column);

  // Rows kept: first occurrence of each timestamp, then in time order (stable for equal keys).
  std::vector<int64_t> rows;
  std::unordered_set<int64_t> seen;
  for (int64_t row = 0; row < table.num_rows(); ++row) {
    if (seen.insert(all_times[static_cast<size_t>(row)]).second) {
      rows.push_back(row);
    } else {
      ++report.duplicates_dropped;
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [&](int64_t a, int64_t b) {
    return all_times[static_cast<size_t>(a)] < all_times[static_cast<size_t>(b)];
  });

  // Value columns.
  std::vector<size_t> selected;
  if (options.columns.empty()) {
    for (size_t c = 0; c < table.columns().size(); ++c) {
      if (c == time_index) continue;
      const TableColumn& column = table.columns()[c];
      if (is_numeric_column(column)) {
        selected.push_back(c);
      } else if (has_some_number(column)) {
        table.numeric_column(column.name);  // throws at the first non-number, naming its row
      } else {
        report.ignored_columns.push_back(column.name);
      }
    }
    if (selected.empty()) {
      throw InputError(table.origin() + ": no numeric columns besides the timestamp column '" +
                       time_column.name + "'");
    }
  } else {
    std::unordered_set<std::string> requested;
    for (const std::string& name : options.columns) {
      if (!requested.insert(name).second) {
        throw InputError(table.origin() + ": column '" + name + "' requested twice");
      }
      const TableColumn& column = table.column(name);  // throws when absent
      if (column.name == time_column.name) {
        throw InputError(table.origin() + ": column '" + name + "' is the timestamp column");
      }
      selected.push_back(*table.find_column(name));
    }
  }
  std::vector<std::vector<double>> values;  // per selected column, per table row
  for (const size_t c : selected) {
    values.push_back(table.numeric_column(table.columns()[c].name));
    series.columns.push_back(table.columns()[c].name);
  }
  const size_t channels = selected.size();

  // Missing values.
  std::vector<std::pair<int64_t, std::string>> missing_cells;  // (row, first missing column)
  for (const int64_t row : rows) {
    for (size_t c = 0; c < channels; ++c) {
      if (std::isnan(values[c][static_cast<size_t>(row)])) {
        missing_cells.emplace_back(row, series.columns[c]);
        break;
      }
    }
  }
  if (!missing_cells.empty() && options.fill == FillPolicy::error) {
    std::sort(missing_cells.begin(), missing_cells.end());
    const size_t count = missing_cells.size();
    throw InputError(table.origin() + ": " + std::to_string(count) +
                     (count == 1 ? " row has" : " rows have") + " missing values (" +
                     list_cells(table, missing_cells) +
                     "); fill them with --fill ffill or drop them with --fill drop");
  }
  std::vector<double> last(channels, std::nan(""));
  for (const int64_t row : rows) {
    bool missing = false;
    bool filled = false;
    for (size_t c = 0; c < channels; ++c) {
      double& value = values[c][static_cast<size_t>(row)];
      if (!std::isnan(value)) {
        last[c] = value;
        continue;
      }
      missing = true;
      if (options.fill == FillPolicy::ffill) {
        if (std::isnan(last[c])) {
          throw InputError(table.where(row) + ", column '" + series.columns[c] +
                           "': missing value with no earlier value to carry forward; use --fill "
                           "drop");
        }
        value = last[c];
        filled = true;
      }
    }
    if (missing && options.fill == FillPolicy::drop) {
      ++report.rows_dropped;
      continue;
    }
    report.rows_filled += filled ? 1 : 0;
    series.timestamps.push_back(all_times[static_cast<size_t>(row)]);
    for (size_t c = 0; c < channels; ++c)
      series.values.push_back(values[c][static_cast<size_t>(row)]);
  }
  if (series.timestamps.empty()) {
    throw InputError(table.origin() + ": no rows left after dropping rows with missing values");
  }
  return series;
}

Table read_series_table(const std::string& path, SeriesFormat format) {
  const std::string extension = extension_of(path);
  if (format == SeriesFormat::automatic) {
    if (extension == ".json") {
      format = SeriesFormat::json;
    } else if (extension == ".csv" || extension == ".tsv" || extension == ".txt") {
      format = SeriesFormat::csv;
    } else {
      throw InputError(path + ": cannot tell the format from the extension '" + extension +
                       "' (expected .csv, .tsv, .txt or .json; or set --format csv|json)");
    }
  }
  if (format == SeriesFormat::json) return read_json_series(path);
  CsvOptions csv;
  if (extension == ".tsv") csv.delimiter = '\t';
  return read_csv(path, csv);
}

TimeSeries load_time_series(const std::string& path, SeriesFormat format,
                            const TimeSeriesOptions& options) {
  return assemble_time_series(read_series_table(path, format), options);
}

}  // namespace ssmkit::io
