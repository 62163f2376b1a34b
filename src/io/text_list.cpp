// Lists of names in messages.
#include "ssmkit/io/text_list.h"

namespace ssmkit::io {

std::string join_names(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace ssmkit::io
