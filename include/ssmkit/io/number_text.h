// Numbers written as text (CSV cells, UCR fields, JSON strings): locale-independent parsing and the
// spellings that mean "missing value".
#pragma once

#include <string_view>

namespace ssmkit::io {

enum class NumberTextKind {
  number,   // a finite number
  missing,  // empty, or a missing-value marker such as NA, NaN, null (pandas' default list)
  invalid,  // anything else, including inf
};

struct NumberText {
  NumberTextKind kind = NumberTextKind::invalid;
  double value = 0.0;  // set when kind == number
};

// Parses `text` after trimming spaces and tabs. Accepts an optional sign, decimals and exponents.
NumberText parse_number_text(std::string_view text);

// True for the texts parse_number_text() reports as missing.
bool is_missing_marker(std::string_view text);

// `text` without leading and trailing spaces, tabs, CR and LF.
std::string_view trim_blanks(std::string_view text);

}  // namespace ssmkit::io
