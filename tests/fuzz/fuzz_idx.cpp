// libFuzzer target: the IDX reader (plain and gzip).
#include "fuzz_target.h"
#include "ssmkit/io/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ssmkit::fuzz::run_parser(data, size, [](std::string_view bytes) {
    const ssmkit::io::NdArray array = ssmkit::io::decode_idx(bytes, ssmkit::fuzz::kOrigin);
    ssmkit::fuzz::require(array.nbytes() == static_cast<size_t>(array.numel()) * array.itemsize(),
                          "buffer matches the shape");
  });
}
