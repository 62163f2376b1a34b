// CSV reader: a single pass over the text, one record at a time.
#include "ssmkit/io/csv.h"

#include <unordered_set>
#include <vector>

#include "ssmkit/io/error.h"
#include "ssmkit/io/file_bytes.h"

namespace ssmkit::io {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr char kQuote = '"';

// Splits the text into records of fields; tracks line numbers across quoted line breaks.
class CsvScanner {
 public:
  CsvScanner(std::string_view text, const std::string& origin, char delimiter)
      : text_(text), origin_(origin), delimiter_(delimiter) {}

  // Reads the next non-blank record into `fields`; false at the end of the input. `line` is the
  // line the record starts on.
  bool next(std::vector<std::string>& fields, int64_t& line) {
    while (pos_ < text_.size()) {
      line = line_;
      fields.clear();
      if (at_line_end()) {  // blank line
        consume_line_end();
        continue;
      }
      read_record(fields);
      return true;
    }
    return false;
  }

 private:
  bool at_line_end() const { return text_[pos_] == '\n' || text_[pos_] == '\r'; }

  void consume_line_end() {
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  void read_record(std::vector<std::string>& fields) {
    while (true) {
      fields.emplace_back();
      std::string& field = fields.back();
      if (pos_ < text_.size() && text_[pos_] == kQuote) {
        read_quoted(field);
      } else {
        while (pos_ < text_.size() && text_[pos_] != delimiter_ && !at_line_end()) {
          field += text_[pos_++];
        }
      }
      if (pos_ >= text_.size()) return;
      if (text_[pos_] == delimiter_) {
        ++pos_;
        continue;
      }
      consume_line_end();
      return;
    }
  }

  void read_quoted(std::string& field) {
    const int64_t open_line = line_;
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= text_.size()) {
        throw InputError(origin_ + " line " + std::to_string(open_line) +
                         ": quoted field is never closed (expected a closing '\"')");
      }
      const char c = text_[pos_++];
      if (c == kQuote) {
        if (pos_ < text_.size() && text_[pos_] == kQuote) {  // "" inside quotes
          field += kQuote;
          ++pos_;
          continue;
        }
        break;
      }
      if (c == '\n' || (c == '\r' && (pos_ >= text_.size() || text_[pos_] != '\n'))) ++line_;
      field += c;
    }
    if (pos_ < text_.size() && text_[pos_] != delimiter_ && !at_line_end()) {
      throw InputError(origin_ + " line " + std::to_string(line_) + ": unexpected '" +
                       std::string(1, text_[pos_]) +
                       "' after a closing quote (expected a delimiter or the end of the line)");
    }
  }

  std::string_view text_;
  const std::string& origin_;
  char delimiter_;
  size_t pos_ = 0;
  int64_t line_ = 1;
};

}  // namespace

Table parse_csv(std::string_view text, const std::string& origin, const CsvOptions& options) {
  if (options.delimiter == kQuote || options.delimiter == '\n' || options.delimiter == '\r') {
    throw InputError(origin + ": invalid CSV delimiter");
  }
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
  CsvScanner scanner(text, origin, options.delimiter);
  std::vector<std::string> fields;
  int64_t line = 0;
  if (!scanner.next(fields, line)) {
    throw InputError(origin + ": empty file, expected a header line with column names");
  }
  Table table(origin, "line");
  std::unordered_set<std::string> seen;
  for (std::string& name : fields) {
    if (!seen.insert(name).second) {
      throw InputError(origin + " line " + std::to_string(line) + ": duplicate column name '" +
                       name + "' in the header");
    }
    table.add_column(std::move(name));
  }
  const size_t width = table.columns().size();
  while (scanner.next(fields, line)) {
    if (fields.size() != width) {
      throw InputError(origin + " line " + std::to_string(line) + ": " +
                       std::to_string(fields.size()) + " fields, expected " +
                       std::to_string(width) + " as in the header");
    }
    const int64_t row = table.add_row(line);
    for (size_t c = 0; c < width; ++c)
      table.set(c, row, std::move(fields[c]));
  }
  return table;
}

Table read_csv(const std::string& path, const CsvOptions& options) {
  return parse_csv(read_file_bytes(path), path, options);
}

std::string csv_field(std::string_view text, char delimiter) {
  if (text.find_first_of(std::string{delimiter, kQuote, '\n', '\r'}) == std::string_view::npos) {
    return std::string(text);
  }
  std::string out(1, kQuote);
  for (const char c : text) {
    if (c == kQuote) out += kQuote;
    out += c;
  }
  return out + kQuote;
}

}  // namespace ssmkit::io
