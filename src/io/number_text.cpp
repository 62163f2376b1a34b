// Locale-independent number parsing (std::from_chars) with pandas' missing-value markers.
#include "ssmkit/io/number_text.h"

#include <array>
#include <charconv>
#include <cmath>

namespace ssmkit::io {
namespace {

// pandas.read_csv's default na_values, so files that pandas reads as NaN read as missing here.
constexpr std::array<std::string_view, 18> kMissingMarkers = {
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A",      "NA",  "NULL",    "NaN",      "None", "n/a",  "nan",    "null"};

}  // namespace

std::string_view trim_blanks(std::string_view text) {
  constexpr std::string_view kBlanks = " \t\r\n";
  const size_t first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  const size_t last = text.find_last_not_of(kBlanks);
  return text.substr(first, last - first + 1);
}

bool is_missing_marker(std::string_view text) {
  text = trim_blanks(text);
  if (text.empty()) return true;
  for (const std::string_view marker : kMissingMarkers) {
    if (text == marker) return true;
  }
  return false;
}

NumberText parse_number_text(std::string_view text) {
  text = trim_blanks(text);
  if (is_missing_marker(text)) return {NumberTextKind::missing, 0.0};
  // from_chars takes no leading '+'; accept it as strtod does.
  if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+') text.remove_prefix(1);
  double value = 0.0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::general);
  if (ec != std::errc() || ptr != end) return {};
  // Spellings of NaN outside pandas' list ("NAN", "+nan") still mean "no value".
  if (std::isnan(value)) return {NumberTextKind::missing, 0.0};
  if (std::isinf(value)) return {};
  return {NumberTextKind::number, value};
}

}  // namespace ssmkit::io
