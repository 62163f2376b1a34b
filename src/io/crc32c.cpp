// Table-driven CRC-32C (reflected polynomial 0x82F63B78).
#include "ssmkit/io/crc32c.h"

#include <array>

namespace ssmkit::io {
namespace {

// The Castagnoli polynomial in reflected bit order.
constexpr uint32_t kPolynomial = 0x82F63B78u;
// TFRecord's mask constant and rotation (tensorflow/core/lib/hash/crc32c.h).
constexpr uint32_t kMaskDelta = 0xa282ead8u;
constexpr int kMaskRotation = 15;

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 1u) ? (crc >> 1) ^ kPolynomial : crc >> 1;
    table[i] = crc;
  }
  return table;
}

constexpr auto kTable = make_table();

}  // namespace

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i)
    crc = kTable[(crc ^ bytes[i]) & 0xffu] ^ (crc >> 8);
  return ~crc;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> kMaskRotation) | (crc << (32 - kMaskRotation))) + kMaskDelta;
}

}  // namespace ssmkit::io
