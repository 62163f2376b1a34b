// Strict reader for one-sequence-per-row numeric CSV files.
#include "ssmkit/io/sequence_rows_csv.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ssmkit/io/error.h"

namespace ssmkit::io {
namespace {

std::vector<std::string> split_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, ','))
    cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.emplace_back();  // a trailing empty cell
  return cells;
}

void strip_line_end(std::string& line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
}

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

}  // namespace

SequenceRows read_sequence_rows_csv(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw InputError("data file '" + path + "' is a directory, expected a CSV file");
  }
  std::ifstream in(path);
  if (!in) {
    throw InputError("cannot open data file '" + path + "': " + std::strerror(errno));
  }
  SequenceRows out;
  std::string line;
  if (!std::getline(in, line)) throw InputError(path + ": file is empty, expected a header line");
  strip_line_end(line);
  out.header = split_cells(line);
  out.length = static_cast<int64_t>(out.header.size());
  if (line.empty() || out.length == 0) {
    throw InputError(path + ":1: empty header, expected one column name per time step");
  }

  int64_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    strip_line_end(line);
    if (trim(line).empty()) continue;  // tolerate blank lines, e.g. at the end
    const std::vector<std::string> cells = split_cells(line);
    if (static_cast<int64_t>(cells.size()) != out.length) {
      throw InputError(path + ":" + std::to_string(line_no) + ": expected " +
                       std::to_string(out.length) + " values (one per header column), found " +
                       std::to_string(cells.size()));
    }
    for (size_t c = 0; c < cells.size(); ++c) {
      const std::string cell = trim(cells[c]);
      char* end = nullptr;
      errno = 0;
      const double value = cell.empty() ? 0.0 : std::strtod(cell.c_str(), &end);
      if (cell.empty() || end != cell.c_str() + cell.size() || errno == ERANGE ||
          !std::isfinite(value)) {
        throw InputError(path + ":" + std::to_string(line_no) + ": column " +
                         std::to_string(c + 1) + " ('" + out.header[c] + "') holds '" + cells[c] +
                         "', expected a finite number");
      }
      out.values.push_back(static_cast<float>(value));
    }
    ++out.rows;
  }
  if (in.bad()) throw InputError(path + ": read error after line " + std::to_string(line_no));
  if (out.rows == 0) throw InputError(path + ": no data rows after the header");
  return out;
}

}  // namespace ssmkit::io
