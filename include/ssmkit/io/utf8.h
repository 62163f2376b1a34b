// UTF-8 <-> Unicode code points, for numpy's UTF-32 string arrays.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ssmkit::io {

// Appends the UTF-8 encoding of `code_point`; false (nothing appended) for surrogates and values
// above U+10FFFF.
bool append_utf8(uint32_t code_point, std::string& out);

// Decodes UTF-8 `text` into code points; false on malformed, overlong or surrogate sequences.
bool decode_utf8(std::string_view text, std::vector<uint32_t>& code_points);

}  // namespace ssmkit::io
