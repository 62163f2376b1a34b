// PNG decoding for the plot tests: chunk walk with CRC checks, zlib inflate, row unfiltering.
#include "png_reader.h"

#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>

namespace ssmkit::testing {
namespace {

constexpr unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

uint32_t big_endian(const std::string& bytes, size_t offset) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i)
    value = (value << 8) | static_cast<unsigned char>(bytes[offset + i]);
  return value;
}

int paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

}  // namespace

size_t PngImage::count_near(Rgb colour, int tolerance) const {
  size_t count = 0;
  for (const auto& p : pixels) {
    if (std::abs(p.r - colour.r) <= tolerance && std::abs(p.g - colour.g) <= tolerance &&
        std::abs(p.b - colour.b) <= tolerance) {
      ++count;
    }
  }
  return count;
}

size_t PngImage::distinct_colours() const {
  std::set<uint32_t> colours;
  for (const auto& p : pixels)
    colours.insert((uint32_t(p.r) << 16) | (uint32_t(p.g) << 8) | p.b);
  return colours.size();
}

PngImage read_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8 || bytes.compare(0, 8, reinterpret_cast<const char*>(kSignature), 8) != 0) {
    throw std::runtime_error(path + ": not a PNG (bad signature)");
  }
  PngImage image;
  int colour_type = -1;
  std::string compressed;
  bool ended = false;
  size_t offset = 8;
  bool first = true;
  while (offset + 12 <= bytes.size() && !ended) {
    const uint32_t length = big_endian(bytes, offset);
    if (offset + 12 + length > bytes.size()) throw std::runtime_error(path + ": truncated chunk");
    const std::string type = bytes.substr(offset + 4, 4);
    const auto* typed = reinterpret_cast<const Bytef*>(bytes.data() + offset + 4);
    const uint32_t crc = static_cast<uint32_t>(crc32(0L, typed, 4 + length));
    if (crc != big_endian(bytes, offset + 8 + length)) {
      throw std::runtime_error(path + ": CRC mismatch in chunk " + type);
    }
    if (first && type != "IHDR") throw std::runtime_error(path + ": first chunk is not IHDR");
    first = false;
    if (type == "IHDR") {
      image.width = big_endian(bytes, offset + 8);
      image.height = big_endian(bytes, offset + 12);
      const int bit_depth = static_cast<unsigned char>(bytes[offset + 16]);
      colour_type = static_cast<unsigned char>(bytes[offset + 17]);
      const int interlace = static_cast<unsigned char>(bytes[offset + 20]);
      if (bit_depth != 8 || (colour_type != 2 && colour_type != 6) || interlace != 0) {
        throw std::runtime_error(path + ": unsupported PNG layout for this test decoder");
      }
    } else if (type == "IDAT") {
      compressed += bytes.substr(offset + 8, length);
    } else if (type == "IEND") {
      ended = true;
    }
    offset += 12 + length;
  }
  if (!ended) throw std::runtime_error(path + ": no IEND chunk");
  const size_t channels = colour_type == 6 ? 4 : 3;
  const size_t stride = image.width * channels;
  std::vector<unsigned char> raw(image.height * (stride + 1));
  uLongf raw_size = raw.size();
  if (uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(compressed.data()),
                 compressed.size()) != Z_OK ||
      raw_size != raw.size()) {
    throw std::runtime_error(path + ": image data does not inflate to the IHDR size");
  }
  std::vector<unsigned char> current(stride), previous(stride, 0);
  image.pixels.reserve(size_t(image.width) * image.height);
  for (uint32_t y = 0; y < image.height; ++y) {
    const unsigned char* row = raw.data() + y * (stride + 1);
    const int filter = row[0];
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= channels ? current[i - channels] : 0;
      const int b = previous[i];
      const int c = i >= channels ? previous[i - channels] : 0;
      int predictor = 0;
      switch (filter) {
        case 0:
          predictor = 0;
          break;
        case 1:
          predictor = a;
          break;
        case 2:
          predictor = b;
          break;
        case 3:
          predictor = (a + b) / 2;
          break;
        case 4:
          predictor = paeth(a, b, c);
          break;
        default:
          throw std::runtime_error(path + ": bad row filter");
      }
      current[i] = static_cast<unsigned char>(row[1 + i] + predictor);
    }
    for (uint32_t x = 0; x < image.width; ++x) {
      const unsigned char* p = current.data() + x * channels;
      const int alpha = channels == 4 ? p[3] : 255;
      const auto over_white = [alpha](int v) {
        return static_cast<uint8_t>((v * alpha + 255 * (255 - alpha) + 127) / 255);
      };
      image.pixels.push_back(Rgb{over_white(p[0]), over_white(p[1]), over_white(p[2])});
    }
    std::swap(current, previous);
  }
  return image;
}

}  // namespace ssmkit::testing
