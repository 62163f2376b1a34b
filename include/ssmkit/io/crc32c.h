// CRC-32C (Castagnoli), the checksum of TFRecord files, and the "masked" form TFRecord stores.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ssmkit::io {

// CRC-32C of `size` bytes; `crc` continues a previous call (0 to start).
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

// TFRecord stores a rotated and offset CRC, so a CRC computed over data that itself holds CRCs
// does not degenerate: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t masked_crc32c(const void* data, size_t size);

}  // namespace ssmkit::io
