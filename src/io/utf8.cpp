// Strict UTF-8 encoding and decoding (RFC 3629).
#include "ssmkit/io/utf8.h"

namespace ssmkit::io {
namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr uint32_t kSurrogateFirst = 0xD800;
constexpr uint32_t kSurrogateLast = 0xDFFF;

bool is_scalar_value(uint32_t cp) {
  return cp <= kMaxCodePoint && (cp < kSurrogateFirst || cp > kSurrogateLast);
}

}  // namespace

bool append_utf8(uint32_t cp, std::string& out) {
  if (!is_scalar_value(cp)) return false;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return true;
}

bool decode_utf8(std::string_view text, std::vector<uint32_t>& code_points) {
  code_points.clear();
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    size_t extra = 0;
    uint32_t cp = 0;
    uint32_t min_value = 0;  // smallest code point this length may encode (rejects overlong forms)
    if (lead < 0x80) {
      cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1;
      cp = lead & 0x1F;
      min_value = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2;
      cp = lead & 0x0F;
      min_value = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3;
      cp = lead & 0x07;
      min_value = 0x10000;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;  // sequence cut off by the end of the text
    for (size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3F);
    }
    if (cp < min_value || !is_scalar_value(cp)) return false;
    code_points.push_back(cp);
    i += extra + 1;
  }
  return true;
}

}  // namespace ssmkit::io
