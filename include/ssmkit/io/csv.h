// CSV reader (RFC 4180): a header line, quoted fields with "" escapes and embedded delimiters or
// line breaks, LF or CRLF line ends, optional final newline, optional UTF-8 byte-order mark.
#pragma once

#include <string>
#include <string_view>

#include "ssmkit/io/table.h"

namespace ssmkit::io {

struct CsvOptions {
  char delimiter = ',';
};

// Parses CSV text into a Table whose cells are all text and whose rows are named by the line they
// start on. Blank lines are skipped. Throws InputError naming `origin` and the line for: an empty
// input or header, duplicate column names, a row with a different number of fields than the header,
// an unterminated quoted field, and text after a closing quote.
Table parse_csv(std::string_view text, const std::string& origin, const CsvOptions& options = {});

// parse_csv() on the contents of `path`.
Table read_csv(const std::string& path, const CsvOptions& options = {});

// One field as RFC 4180 writes it: quoted (with "" escapes) when it holds the delimiter, a quote
// or a line break, else unchanged; parse_csv reads it back as `text`.
std::string csv_field(std::string_view text, char delimiter = ',');

}  // namespace ssmkit::io
