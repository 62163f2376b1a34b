// CRC-32C against published check values, and TFRecord framing round trips and corruption.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "ssmkit/io/crc32c.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/tfrecord.h"

namespace ssmkit::io {
namespace {

TEST(Crc32c, PublishedCheckValues) {
  // The standard check value of CRC-32C, and the RFC 3720 (iSCSI) test vectors.
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  const std::string ones(32, '\xff');
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i)
    ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c(ascending.data(), ascending.size()), 0x46DD794Eu);
  EXPECT_EQ(crc32c(nullptr, 0), 0u);
}

TEST(Crc32c, ContinuesAcrossCalls) {
  const std::string text = "state-space sequence models";
  const uint32_t whole = crc32c(text.data(), text.size());
  const uint32_t first = crc32c(text.data(), 10);
  EXPECT_EQ(crc32c(text.data() + 10, text.size() - 10, first), whole);
}

TEST(Crc32c, MaskRotatesAndOffsets) {
  const uint32_t crc = crc32c("123456789", 9);
  EXPECT_EQ(masked_crc32c("123456789", 9), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          (name + "." + std::to_string(std::random_device{}())))
      .string();
}

TEST(TfRecord, FrameLayoutAndRoundTrip) {
  const std::string payload = "hello tensorboard";
  const auto record = frame_tfrecord(payload);
  ASSERT_EQ(record.size(), 8 + 4 + payload.size() + 4);
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i)
    length |= uint64_t(static_cast<unsigned char>(record[i])) << (8 * i);
  EXPECT_EQ(length, payload.size());
  EXPECT_EQ(record.substr(12, payload.size()), payload);

  const auto path = temp_file("records");
  {
    std::ofstream out(path, std::ios::binary);
    out << record << frame_tfrecord("") << frame_tfrecord(std::string(1000, 'x'));
  }
  const auto records = read_tfrecords(path);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0], payload);
  EXPECT_EQ(records[1], "");
  EXPECT_EQ(records[2], std::string(1000, 'x'));
  std::remove(path.c_str());
}

TEST(TfRecord, CorruptionAndTruncationAreReported) {
  const auto record = frame_tfrecord("payload bytes");
  const auto path = temp_file("corrupt");
  const auto write = [&](const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
  };
  auto flipped = record;
  flipped[14] ^= 0x01;  // a data byte
  write(flipped);
  try {
    read_tfrecords(path);
    FAIL() << "expected a checksum error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("data checksum mismatch"), std::string::npos) << e.what();
  }
  auto bad_length = record;
  bad_length[0] ^= 0x40;
  write(bad_length);
  EXPECT_THROW(read_tfrecords(path), InputError);
  write(record + record.substr(0, record.size() - 3));
  try {
    read_tfrecords(path);
    FAIL() << "expected a truncation error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("at byte " + std::to_string(record.size())),
              std::string::npos)
        << e.what();
  }
  std::remove(path.c_str());
  EXPECT_THROW(read_tfrecords(path), InputError);
}

}  // namespace
}  // namespace ssmkit::io
