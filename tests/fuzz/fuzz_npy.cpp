// libFuzzer target: .npy decoding; whatever decodes must survive an encode/decode round trip.
#include "fuzz_target.h"
#include "ssmkit/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ssmkit::fuzz::run_parser(data, size, [](std::string_view bytes) {
    const ssmkit::io::NpyArray array = ssmkit::io::decode_npy(bytes, ssmkit::fuzz::kOrigin);
    const ssmkit::io::NpyArray again =
        ssmkit::io::decode_npy(ssmkit::io::encode_npy(array), "round trip");
    ssmkit::fuzz::require(array == again, "decode(encode(a)) == a");
  });
}
