// .npy encoding and decoding, with a small parser for the Python-literal header dictionary.
#include "ssmkit/io/npy.h"

#include <array>
#include <cstring>
#include <limits>

#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/file_bytes.h"
#include "ssmkit/io/utf8.h"

namespace ssmkit::io {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "ssmkit's array buffers are little-endian, as on every supported host");

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
// Offsets in the preamble: magic, major/minor version, then the header length (2 or 4 bytes).
constexpr size_t kVersionOffset = 6;
constexpr size_t kHeaderLengthOffset = 8;
// np.save pads the preamble + header to a multiple of this, so the data is aligned.
constexpr size_t kHeaderAlignment = 64;
// Version 1.0 stores the header length in 16 bits.
constexpr size_t kMaxVersion1HeaderLength = 65535;
// numpy stores '<U' strings as UTF-32 code units.
constexpr size_t kUnicodeUnitSize = 4;
// numpy 2 allows at most 64 dimensions (NPY_MAXDIMS).
constexpr size_t kMaxDims = 64;

// ---- header literal -------------------------------------------------------------------------

struct HeaderValue {
  enum Kind { string, boolean, tuple, list } kind = string;
  std::string text;
  bool flag = false;
  std::vector<int64_t> ints;
};

// Parses the header's Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False,
// 'shape': (3, 4), }.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, size_t base_offset, const std::string& origin)
      : text_(text), base_(base_offset), origin_(origin) {}

  std::vector<std::pair<std::string, HeaderValue>> parse_dict() {
    std::vector<std::pair<std::string, HeaderValue>> items;
    skip_blanks();
    expect('{', "'{' opening the header dictionary");
    while (true) {
      skip_blanks();
      if (accept('}')) break;
      std::string key = parse_string("a quoted key");
      skip_blanks();
      expect(':', "':' after a key");
      skip_blanks();
      items.emplace_back(std::move(key), parse_value());
      skip_blanks();
      if (accept(',')) continue;
      expect('}', "',' or '}' in the header dictionary");
      break;
    }
    skip_blanks();
    if (pos_ != text_.size()) fail("only blanks after the header dictionary");
    return items;
  }

  [[noreturn]] void fail(const std::string& expected) const {
    throw InputError(origin_ + ": malformed .npy header at byte offset " +
                     std::to_string(base_ + pos_) + ": expected " + expected +
                     " (header: " + std::string(text_.substr(0, 200)) + ")");
  }

 private:
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool accept(char c) {
    if (peek() != c || pos_ >= text_.size()) return false;
    ++pos_;
    return true;
  }
  void expect(char c, const std::string& what) {
    if (!accept(c)) fail(what);
  }
  void skip_blanks() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  std::string parse_string(const std::string& what) {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail(what);
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) fail("a closing quote");
      char c = text_[pos_++];
      if (c == quote) break;
      if (c == '\\') {
        if (pos_ >= text_.size()) fail("a character after '\\'");
        c = text_[pos_++];
      }
      out += c;
    }
    return out;
  }

  int64_t parse_int() {
    if (peek() < '0' || peek() > '9') fail("a non-negative integer in the shape tuple");
    int64_t value = 0;
    while (peek() >= '0' && peek() <= '9') {
      const int digit = text_[pos_++] - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("a smaller dimension");
      value = value * 10 + digit;
    }
    accept('L');  // Python 2 long suffix, as in (3L, 4L)
    return value;
  }

  HeaderValue parse_value() {
    HeaderValue value;
    const char c = peek();
    if (c == '\'' || c == '"') {
      value.kind = HeaderValue::string;
      value.text = parse_string("a string");
    } else if (c == '(') {
      ++pos_;
      value.kind = HeaderValue::tuple;
      skip_blanks();
      while (!accept(')')) {
        value.ints.push_back(parse_int());
        skip_blanks();
        if (accept(',')) {
          skip_blanks();
          continue;
        }
        expect(')', "',' or ')' in the shape tuple");
        break;
      }
    } else if (c == '[') {
      value.kind = HeaderValue::list;
      // Structured dtypes: skip to the matching bracket so the caller can name the problem.
      int depth = 0;
      do {
        if (pos_ >= text_.size()) fail("a closing ']'");
        if (text_[pos_] == '[') ++depth;
        if (text_[pos_] == ']') --depth;
        ++pos_;
      } while (depth > 0);
    } else if (text_.substr(pos_, 4) == "True") {
      pos_ += 4;
      value.kind = HeaderValue::boolean;
      value.flag = true;
    } else if (text_.substr(pos_, 5) == "False") {
      pos_ += 5;
      value.kind = HeaderValue::boolean;
      value.flag = false;
    } else {
      fail("a string, a tuple, True or False");
    }
    return value;
  }

  std::string_view text_;
  size_t base_;
  const std::string& origin_;
  size_t pos_ = 0;
};

// ---- dtype descriptors ------------------------------------------------------------------------

struct Descriptor {
  bool is_unicode = false;
  DType dtype = DType::float32;  // when !is_unicode
  int64_t unicode_length = 0;    // characters per element, when is_unicode
  bool big_endian = false;
  size_t item_size = 0;
};

Descriptor parse_descriptor(const std::string& descr, const std::string& origin) {
  const auto unsupported = [&]() -> InputError {
    return InputError(origin + ": unsupported .npy dtype '" + descr +
                      "' (expected float32 '<f4', float64 '<f8', int64 '<i8', int32 '<i4', "
                      "uint8 '|u1', int8 '|i1', bool '|b1' or unicode '<U<n>')");
  };
  if (descr.size() < 2) throw unsupported();
  Descriptor d;
  const char order = descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') throw unsupported();
  d.big_endian = order == '>';
  const char kind = descr[1];
  const std::string size_text = descr.substr(2);
  if (size_text.empty() || size_text.size() > 9 ||
      size_text.find_first_not_of("0123456789") != std::string::npos) {
    throw unsupported();
  }
  const int64_t size = std::stoll(size_text);
  if (kind == 'U') {
    if (size == 0) throw unsupported();  // '<U0' holds nothing; numpy writes '<U1' and up
    d.is_unicode = true;
    d.unicode_length = size;
    d.item_size = static_cast<size_t>(size) * kUnicodeUnitSize;
    return d;
  }
  const struct {
    char kind;
    int64_t size;
    DType dtype;
  } kKnown[] = {{'f', 4, DType::float32}, {'f', 8, DType::float64}, {'i', 8, DType::int64},
                {'i', 4, DType::int32},   {'u', 1, DType::uint8},   {'i', 1, DType::int8},
                {'b', 1, DType::boolean}};
  for (const auto& known : kKnown) {
    if (known.kind == kind && known.size == size) {
      d.dtype = known.dtype;
      d.item_size = dtype_size(known.dtype);
      return d;
    }
  }
  throw unsupported();
}

std::string descriptor_of(DType dtype) {
  switch (dtype) {
    case DType::float32:
      return "<f4";
    case DType::float64:
      return "<f8";
    case DType::int64:
      return "<i8";
    case DType::int32:
      return "<i4";
    case DType::uint8:
      return "|u1";
    case DType::int8:
      return "|i1";
    case DType::boolean:
      return "|b1";
  }
  return "";
}

uint32_t read_le32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

void swap_bytes(unsigned char* data, size_t count, size_t unit) {
  if (unit <= 1) return;
  for (size_t i = 0; i < count; ++i) {
    unsigned char* element = data + i * unit;
    for (size_t a = 0, b = unit - 1; a < b; ++a, --b)
      std::swap(element[a], element[b]);
  }
}

// Copies Fortran-ordered elements into C order.
std::string fortran_to_c_order(std::string_view data, const std::vector<int64_t>& shape,
                               size_t item_size) {
  std::string out(data.size(), '\0');
  const size_t rank = shape.size();
  std::array<int64_t, kMaxDims> fortran_stride{};
  std::array<int64_t, kMaxDims> index{};
  fortran_stride[0] = 1;
  for (size_t d = 1; d < rank; ++d)
    fortran_stride[d] = fortran_stride[d - 1] * shape[d - 1];
  const size_t count = data.size() / item_size;
  for (size_t c_offset = 0; c_offset < count; ++c_offset) {
    int64_t f_offset = 0;
    for (size_t d = 0; d < rank; ++d)
      f_offset += index[d] * fortran_stride[d];
    std::memcpy(&out[c_offset * item_size], &data[static_cast<size_t>(f_offset) * item_size],
                item_size);
    for (size_t d = rank; d-- > 0;) {  // next C-order index
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

StringArray decode_unicode(std::string_view data, const std::vector<int64_t>& shape, int64_t numel,
                           int64_t length, const std::string& origin, size_t data_offset) {
  std::vector<std::string> values(static_cast<size_t>(numel));
  const size_t item_size = static_cast<size_t>(length) * kUnicodeUnitSize;
  for (int64_t i = 0; i < numel; ++i) {
    const auto* element =
        reinterpret_cast<const unsigned char*>(data.data()) + static_cast<size_t>(i) * item_size;
    size_t used = static_cast<size_t>(length);
    while (used > 0 && read_le32(element + (used - 1) * kUnicodeUnitSize) == 0)
      --used;
    std::string& text = values[static_cast<size_t>(i)];
    for (size_t k = 0; k < used; ++k) {
      const uint32_t code_point = read_le32(element + k * kUnicodeUnitSize);
      if (!append_utf8(code_point, text)) {
        throw InputError(origin + ": string element " + std::to_string(i) + " (byte offset " +
                         std::to_string(data_offset + static_cast<size_t>(i) * item_size) +
                         ") holds invalid code point " + std::to_string(code_point));
      }
    }
  }
  return StringArray(shape, std::move(values));
}

std::string build_header(const std::string& descr, const std::vector<int64_t>& shape,
                         size_t& preamble_size, uint8_t& major_version) {
  std::string header = "{'descr': '" + descr +
                       "', 'fortran_order': False, 'shape': " + shape_to_string(shape) + ", }";
  for (major_version = 1; major_version <= 2; ++major_version) {
    preamble_size = kMagic.size() + 2 + (major_version == 1 ? 2 : 4);
    const size_t unpadded = preamble_size + header.size() + 1;  // + '\n'
    const size_t padded = (unpadded + kHeaderAlignment - 1) / kHeaderAlignment * kHeaderAlignment;
    const size_t header_length = padded - preamble_size;
    if (major_version == 2 || header_length <= kMaxVersion1HeaderLength) {
      header.append(padded - unpadded, ' ');
      header += '\n';
      return header;
    }
  }
  return header;
}

}  // namespace

std::string encode_npy(const NpyArray& array) {
  std::string descr;
  std::vector<int64_t> shape;
  std::string payload;
  if (const NdArray* numbers = std::get_if<NdArray>(&array)) {
    descr = descriptor_of(numbers->dtype());
    shape = numbers->shape();
    payload.assign(static_cast<const char*>(numbers->raw_data()), numbers->nbytes());
  } else {
    const StringArray& strings = std::get<StringArray>(array);
    shape = strings.shape;
    std::vector<std::vector<uint32_t>> code_points;
    size_t length = 1;  // numpy's smallest unicode dtype is '<U1'
    for (size_t i = 0; i < strings.values.size(); ++i) {
      code_points.emplace_back();
      if (!decode_utf8(strings.values[i], code_points.back())) {
        throw InputError("encode_npy: string element " + std::to_string(i) + " is not valid UTF-8");
      }
      length = std::max(length, code_points.back().size());
    }
    descr = "<U" + std::to_string(length);
    payload.assign(strings.values.size() * length * kUnicodeUnitSize, '\0');
    for (size_t i = 0; i < code_points.size(); ++i) {
      for (size_t k = 0; k < code_points[i].size(); ++k) {
        const uint32_t cp = code_points[i][k];
        char* unit = &payload[(i * length + k) * kUnicodeUnitSize];
        for (size_t b = 0; b < kUnicodeUnitSize; ++b)
          unit[b] = static_cast<char>(cp >> (8 * b));
      }
    }
  }
  size_t preamble_size = 0;
  uint8_t major_version = 1;
  const std::string header = build_header(descr, shape, preamble_size, major_version);
  std::string out(kMagic);
  out += static_cast<char>(major_version);
  out += '\0';
  const size_t header_length = header.size();
  const size_t length_bytes = major_version == 1 ? 2 : 4;
  for (size_t b = 0; b < length_bytes; ++b)
    out += static_cast<char>(header_length >> (8 * b));
  out += header;
  out += payload;
  return out;
}

NpyArray decode_npy(std::string_view bytes, const std::string& origin) {
  if (bytes.size() < kHeaderLengthOffset + 2 || bytes.substr(0, kMagic.size()) != kMagic) {
    throw InputError(origin + ": not a .npy file (expected the magic string \\x93NUMPY at byte 0" +
                     std::string(bytes.empty() ? "; the file is empty" : "") + ")");
  }
  const auto* raw = reinterpret_cast<const unsigned char*>(bytes.data());
  const int major = raw[kVersionOffset];
  const int minor = raw[kVersionOffset + 1];
  if (major < 1 || major > 3 || minor != 0) {
    throw InputError(origin + ": unsupported .npy format version " + std::to_string(major) + "." +
                     std::to_string(minor) + " at byte offset 6 (expected 1.0, 2.0 or 3.0)");
  }
  const size_t length_bytes = major == 1 ? 2 : 4;
  const size_t header_start = kHeaderLengthOffset + length_bytes;
  if (bytes.size() < header_start) {
    throw InputError(origin + ": truncated .npy preamble (" + std::to_string(bytes.size()) +
                     " bytes, expected at least " + std::to_string(header_start) + ")");
  }
  const size_t header_length =
      major == 1 ? (static_cast<size_t>(raw[8]) | static_cast<size_t>(raw[9]) << 8)
                 : static_cast<size_t>(read_le32(raw + kHeaderLengthOffset));
  if (bytes.size() - header_start < header_length) {
    throw InputError(origin + ": truncated .npy header (declares " + std::to_string(header_length) +
                     " bytes at byte offset " + std::to_string(header_start) + ", file has " +
                     std::to_string(bytes.size() - header_start) + ")");
  }
  HeaderParser parser(bytes.substr(header_start, header_length), header_start, origin);
  const auto items = parser.parse_dict();
  const HeaderValue* descr = nullptr;
  const HeaderValue* fortran = nullptr;
  const HeaderValue* shape_value = nullptr;
  for (const auto& [key, value] : items) {
    const HeaderValue** slot = key == "descr"           ? &descr
                               : key == "fortran_order" ? &fortran
                               : key == "shape"         ? &shape_value
                                                        : nullptr;
    if (slot == nullptr || *slot != nullptr) {
      throw InputError(origin + ": .npy header has " +
                       (slot == nullptr ? "an unexpected key '" : "a repeated key '") + key +
                       "' (expected descr, fortran_order and shape)");
    }
    *slot = &value;
  }
  if (descr == nullptr || fortran == nullptr || shape_value == nullptr) {
    throw InputError(origin + ": .npy header lacks " +
                     std::string(descr == nullptr     ? "'descr'"
                                 : fortran == nullptr ? "'fortran_order'"
                                                      : "'shape'") +
                     " (expected descr, fortran_order and shape)");
  }
  if (descr->kind == HeaderValue::list) {
    throw InputError(origin +
                     ": structured .npy dtypes are not supported (expected a plain "
                     "numeric or unicode array)");
  }
  if (descr->kind != HeaderValue::string) {
    throw InputError(origin + ": .npy header 'descr' must be a string like '<f4'");
  }
  if (fortran->kind != HeaderValue::boolean) {
    throw InputError(origin + ": .npy header 'fortran_order' must be True or False");
  }
  if (shape_value->kind != HeaderValue::tuple) {
    throw InputError(origin + ": .npy header 'shape' must be a tuple like (3, 4)");
  }
  const Descriptor d = parse_descriptor(descr->text, origin);
  const std::vector<int64_t>& shape = shape_value->ints;
  if (shape.size() > kMaxDims) {
    throw InputError(origin + ": .npy shape has " + std::to_string(shape.size()) +
                     " dimensions, more than numpy's " + std::to_string(kMaxDims));
  }
  // Bounds numel * item_size, so `needed` below cannot overflow.
  const int64_t numel = checked_numel(shape, d.item_size, origin);
  const size_t data_offset = header_start + header_length;
  const size_t available = bytes.size() - data_offset;
  const size_t needed = static_cast<size_t>(numel) * d.item_size;
  if (available != needed) {
    throw InputError(origin + ": " + (available < needed ? "truncated" : "trailing bytes in") +
                     " .npy data: shape " + shape_to_string(shape) + " of " + descr->text +
                     " needs " + std::to_string(needed) +
                     " bytes after the header at byte offset " + std::to_string(data_offset) +
                     ", found " + std::to_string(available));
  }
  std::string data(bytes.substr(data_offset));
  const size_t swap_unit = d.is_unicode ? kUnicodeUnitSize : d.item_size;
  if (d.big_endian) {
    swap_bytes(reinterpret_cast<unsigned char*>(data.data()), data.size() / swap_unit, swap_unit);
  }
  if (fortran->flag && shape.size() > 1) data = fortran_to_c_order(data, shape, d.item_size);
  if (d.is_unicode) {
    return decode_unicode(data, shape, numel, d.unicode_length, origin, data_offset);
  }
  NdArray array(d.dtype, shape);
  if (!data.empty()) std::memcpy(array.raw_data(), data.data(), data.size());
  if (d.dtype == DType::boolean) {
    auto* flags = static_cast<unsigned char*>(array.raw_data());
    for (size_t i = 0; i < array.nbytes(); ++i) {
      if (flags[i] > 1) {
        throw InputError(origin + ": bool element " + std::to_string(i) + " at byte offset " +
                         std::to_string(data_offset + i) + " is " + std::to_string(flags[i]) +
                         ", expected 0 or 1");
      }
    }
  }
  return array;
}

NdArray read_npy(const std::string& path) {
  return numeric_array(decode_npy(read_file_bytes(path), path), path);
}

StringArray read_npy_strings(const std::string& path) {
  return string_array(decode_npy(read_file_bytes(path), path), path);
}

void write_npy(const std::string& path, const NpyArray& array) {
  write_file_atomic(path, encode_npy(array));
}

const NdArray& numeric_array(const NpyArray& array, const std::string& what) {
  if (const NdArray* numbers = std::get_if<NdArray>(&array)) return *numbers;
  throw InputError(what + " holds strings, expected a numeric array");
}

const StringArray& string_array(const NpyArray& array, const std::string& what) {
  if (const StringArray* strings = std::get_if<StringArray>(&array)) return *strings;
  throw InputError(what + " holds a numeric array, expected strings");
}

}  // namespace ssmkit::io
