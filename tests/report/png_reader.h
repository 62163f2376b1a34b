// A small PNG decoder for tests (8-bit RGB/RGBA, not interlaced: what cairo writes), so plot tests
// can check sizes, chunk checksums and the colours actually drawn.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ssmkit::testing {

struct Rgb {
  uint8_t r, g, b;
};

struct PngImage {
  uint32_t width = 0;
  uint32_t height = 0;
  std::vector<Rgb> pixels;  // (height * width), row-major, alpha composited onto white

  // Pixels within `tolerance` of `colour` on every channel.
  size_t count_near(Rgb colour, int tolerance) const;
  size_t distinct_colours() const;
};

// Decodes `path`; throws std::runtime_error naming what is wrong (signature, chunk CRC, ...).
PngImage read_png(const std::string& path);

}  // namespace ssmkit::testing
