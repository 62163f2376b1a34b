// Minimal protobuf wire-format encoder: enough to write TensorBoard's Event and Summary messages
// without a protobuf dependency (the GPU build has none). Field numbers are given by the caller.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace ssmkit::io::wire {

enum class WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// Bits of a field key below the field number.
constexpr int kWireTypeBits = 3;
// A varint carries 7 payload bits per byte; the high bit says another byte follows.
constexpr uint64_t kVarintPayloadMask = 0x7f;
constexpr uint64_t kVarintContinuation = 0x80;

inline void put_varint(std::string& out, uint64_t value) {
  while (value > kVarintPayloadMask) {
    out.push_back(static_cast<char>((value & kVarintPayloadMask) | kVarintContinuation));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

inline void put_key(std::string& out, int field, WireType type) {
  put_varint(out, (static_cast<uint64_t>(field) << kWireTypeBits) | static_cast<uint32_t>(type));
}

template <typename Bits>
void put_little_endian(std::string& out, Bits bits) {
  for (size_t i = 0; i < sizeof(Bits); ++i)
    out.push_back(static_cast<char>((bits >> (8 * i)) & 0xffu));
}

inline void put_double_value(std::string& out, double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  put_little_endian(out, bits);
}

inline void put_double(std::string& out, int field, double value) {
  put_key(out, field, WireType::kFixed64);
  put_double_value(out, value);
}

inline void put_float(std::string& out, int field, float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  put_key(out, field, WireType::kFixed32);
  put_little_endian(out, bits);
}

// int64 fields are varints of the two's-complement value (negative numbers take ten bytes).
inline void put_int64(std::string& out, int field, int64_t value) {
  put_key(out, field, WireType::kVarint);
  put_varint(out, static_cast<uint64_t>(value));
}

// Strings, bytes and embedded messages.
inline void put_bytes(std::string& out, int field, std::string_view bytes) {
  put_key(out, field, WireType::kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes);
}

inline void put_packed_doubles(std::string& out, int field, const std::vector<double>& values) {
  std::string packed;
  packed.reserve(values.size() * sizeof(double));
  for (double value : values)
    put_double_value(packed, value);
  put_bytes(out, field, packed);
}

}  // namespace ssmkit::io::wire
