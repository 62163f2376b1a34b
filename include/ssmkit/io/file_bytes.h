// Whole-file reads for the parsers, and gzip decompression (IDX files come as .gz).
#pragma once

#include <string>
#include <string_view>

namespace ssmkit::io {

// The bytes of `path`. Throws InputError naming the path when it is missing, a folder, or
// unreadable.
std::string read_file_bytes(const std::string& path);

// True when `bytes` starts with the gzip magic number (1f 8b).
bool is_gzip(std::string_view bytes);

// Decompresses gzip data (one or more concatenated members). Throws InputError naming `origin`
// and the compressed byte offset when the stream is corrupt or truncated.
std::string gunzip(std::string_view compressed, const std::string& origin);

// gunzip() when `bytes` is gzip data, otherwise `bytes` unchanged.
std::string gunzip_if_compressed(std::string bytes, const std::string& origin);

}  // namespace ssmkit::io
