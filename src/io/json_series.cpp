// JSON time-series reader: records, columns and split layouts into one Table.
#include "ssmkit/io/json_series.h"

#include <nlohmann/json.hpp>

#include "ssmkit/io/error.h"
#include "ssmkit/io/file_bytes.h"

namespace ssmkit::io {
namespace {

// Keeps object members in file order, so columns come out in the order they were written.
using Json = nlohmann::ordered_json;

std::string json_type(const Json& value) {
  return value.type_name();
}

Cell to_cell(const Json& value, const std::string& where) {
  if (value.is_null()) return std::monostate{};
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) return value.get<std::string>();
  throw InputError(where + ": expected a number, a string or null, found " + json_type(value));
}

size_t column_for(Table& table, const std::string& name) {
  if (const auto index = table.find_column(name)) return *index;
  return table.add_column(name);
}

Table read_records(const Json& records, const std::string& origin) {
  Table table(origin, "record");
  int64_t index = 0;
  for (const Json& record : records) {
    const std::string where = origin + " record " + std::to_string(index);
    if (!record.is_object()) {
      throw InputError(where + ": expected an object {\"column\": value, ...}, found " +
                       json_type(record));
    }
    const int64_t row = table.add_row(index);
    for (const auto& [key, value] : record.items()) {
      table.set(column_for(table, key), row, to_cell(value, where + ", key '" + key + "'"));
    }
    ++index;
  }
  return table;
}

Table read_columns(const Json& columns, const std::string& origin) {
  Table table(origin, "record");
  int64_t length = -1;
  std::string first_name;
  for (const auto& [name, values] : columns.items()) {
    const std::string where = origin + " column '" + name + "'";
    if (!values.is_array() && !values.is_object()) {
      throw InputError(where + ": expected an array of values, found " + json_type(values));
    }
    const int64_t size = static_cast<int64_t>(values.size());
    if (length < 0) {
      length = size;
      first_name = name;
      for (int64_t row = 0; row < length; ++row)
        table.add_row(row);
    } else if (size != length) {
      throw InputError(where + ": " + std::to_string(size) + " values, but column '" + first_name +
                       "' has " + std::to_string(length));
    }
    const size_t column = table.add_column(name);
    int64_t row = 0;
    for (const auto& [key, value] : values.items()) {
      table.set(column, row, to_cell(value, where + " record " + std::to_string(row)));
      ++row;
    }
  }
  return table;
}

Table read_split(const Json& split, const std::string& origin) {
  Table table(origin, "record");
  for (const Json& name : split["columns"]) {
    if (!name.is_string()) {
      throw InputError(origin + ": \"columns\" must hold strings, found " + json_type(name));
    }
    if (table.find_column(name.get<std::string>())) {
      throw InputError(origin + ": duplicate column name '" + name.get<std::string>() + "'");
    }
    table.add_column(name.get<std::string>());
  }
  const size_t width = table.columns().size();
  int64_t index = 0;
  for (const Json& row_values : split["data"]) {
    const std::string where = origin + " record " + std::to_string(index);
    if (!row_values.is_array() || row_values.size() != width) {
      throw InputError(where + ": expected an array of " + std::to_string(width) +
                       " values (one per column), found " +
                       (row_values.is_array() ? std::to_string(row_values.size()) + " values"
                                              : json_type(row_values)));
    }
    const int64_t row = table.add_row(index);
    for (size_t c = 0; c < width; ++c) {
      table.set(c, row,
                to_cell(row_values[c], where + ", column '" + table.columns()[c].name + "'"));
    }
    ++index;
  }
  return table;
}

bool is_split_layout(const Json& object) {
  if (!object.contains("columns") || !object.contains("data")) return false;
  if (!object["columns"].is_array() || !object["data"].is_array()) return false;
  for (const auto& [key, value] : object.items()) {
    if (key != "columns" && key != "data" && key != "index") return false;
  }
  return true;
}

bool is_wrapper(const Json& object) {
  if (!object.contains("data")) return false;
  const Json& data = object["data"];
  return data.is_object() || (data.is_array() && !data.empty() && data.front().is_object());
}

Table read_layout(const Json& root, const std::string& origin, bool allow_wrapper) {
  if (root.is_array()) return read_records(root, origin);
  if (!root.is_object()) {
    throw InputError(origin + ": expected a JSON array of records or an object of columns, found " +
                     json_type(root));
  }
  if (is_split_layout(root)) return read_split(root, origin);
  if (allow_wrapper && is_wrapper(root)) return read_layout(root["data"], origin, false);
  return read_columns(root, origin);
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest says where.
std::string without_exception_tag(const std::string& message) {
  const size_t tag_end = message.find("] ");
  return tag_end == std::string::npos ? message : message.substr(tag_end + 2);
}

}  // namespace

Table parse_json_series(std::string_view text, const std::string& origin) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    throw InputError(origin + ": empty file, expected a JSON time series");
  }
  Json root;
  try {
    root = Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    throw InputError(origin + ": invalid JSON: " + without_exception_tag(e.what()));
  }
  Table table = read_layout(root, origin, true);
  if (table.num_rows() == 0 || table.num_columns() == 0) {
    throw InputError(origin + ": the series is empty (no records or no columns)");
  }
  return table;
}

Table read_json_series(const std::string& path) {
  return parse_json_series(read_file_bytes(path), path);
}

}  // namespace ssmkit::io
