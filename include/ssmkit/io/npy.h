// numpy's .npy format (versions 1.0, 2.0, 3.0): numeric arrays of every NdArray dtype and '<U'
// string arrays. Writes version 1.0 (2.0 when the header needs it), little-endian, C order, like
// np.save. Reads little- or big-endian data, C or Fortran order (converted to C order).
#pragma once

#include <string>
#include <string_view>

#include "ssmkit/io/nd_array.h"

namespace ssmkit::io {

// The bytes of a .npy file holding `array`. Throws InputError for a string that is not valid UTF-8.
std::string encode_npy(const NpyArray& array);

// Parses the bytes of a .npy file. Throws InputError naming `origin` and the byte offset for a bad
// magic string or version, a malformed header (descr, fortran_order, shape), an unsupported dtype
// (structured, object, float16, ...), data shorter or longer than the shape needs, and strings
// holding invalid code points.
NpyArray decode_npy(std::string_view bytes, const std::string& origin);

// The array in `path`; read_npy() throws InputError unless it holds numbers, read_npy_strings()
// unless it holds strings.
NdArray read_npy(const std::string& path);
StringArray read_npy_strings(const std::string& path);

// Writes `array` to `path` atomically (temporary file + rename).
void write_npy(const std::string& path, const NpyArray& array);

// The NdArray or StringArray inside `array`; throws InputError "<what> holds strings, expected a
// numeric array" (and the reverse) otherwise.
const NdArray& numeric_array(const NpyArray& array, const std::string& what);
const StringArray& string_array(const NpyArray& array, const std::string& what);

}  // namespace ssmkit::io
