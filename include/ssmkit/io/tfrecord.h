// TFRecord framing, the container of TensorBoard event files: each record is
//   uint64 length, uint32 masked CRC-32C of those 8 bytes, `length` bytes of data,
//   uint32 masked CRC-32C of the data, all little-endian.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ssmkit::io {

// One framed record holding `payload`.
std::string frame_tfrecord(std::string_view payload);

// The payloads of every record in `path`, in order. Throws InputError naming the file and the
// byte offset on a bad checksum or a truncated record.
std::vector<std::string> read_tfrecords(const std::string& path);

}  // namespace ssmkit::io
