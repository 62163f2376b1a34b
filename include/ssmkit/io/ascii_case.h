// Case folding of ASCII text (file extensions, column names, YAML keywords): locale-independent,
// unlike std::tolower under a user's locale.
#pragma once

#include <string>
#include <string_view>

namespace ssmkit::io {

// `text` with A-Z mapped to a-z; other bytes unchanged.
std::string ascii_lower(std::string_view text);

}  // namespace ssmkit::io
