// Lists of names in messages: "a, b, c".
#pragma once

#include <string>
#include <vector>

namespace ssmkit::io {

// The items separated by ", ".
std::string join_names(const std::vector<std::string>& items);

}  // namespace ssmkit::io
