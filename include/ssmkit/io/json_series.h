// JSON time-series reader. Accepted layouts (the top level is one of them, or an object whose
// "data" member is a records array or a columns object; other members beside "data" are ignored):
//   records:  [{"timestamp": "2016-07-01 00:00", "a": 1.5, "b": null}, ...]
//             (pandas orient="records"; a key absent from a record is a missing value)
//   columns:  {"timestamp": [...], "a": [...], "b": [...]}          (all arrays the same length)
//             {"timestamp": {"0": ..., "1": ...}, "a": {...}}        (pandas orient="columns")
//   split:    {"columns": ["timestamp", "a"], "data": [[...], ...]} (pandas orient="split";
//             an "index" member is ignored)
// Values must be numbers, strings or null (missing). Column order is the order of first appearance.
#pragma once

#include <string>
#include <string_view>

#include "ssmkit/io/table.h"

namespace ssmkit::io {

// Parses JSON text into a Table whose rows are named "record <i>" (0-based array index). Throws
// InputError naming `origin` and the position (JSON line/column, or record and key) for invalid
// JSON, an unsupported layout, columns of different lengths, values that are objects, arrays or
// booleans, and an empty series.
Table parse_json_series(std::string_view text, const std::string& origin);

// parse_json_series() on the contents of `path`.
Table read_json_series(const std::string& path);

}  // namespace ssmkit::io
