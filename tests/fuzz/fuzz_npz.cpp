// libFuzzer target: .npz decoding (libzip from memory, then .npy members).
#include "fuzz_target.h"
#include "ssmkit/io/npy.h"
#include "ssmkit/io/npz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ssmkit::fuzz::run_parser(data, size, [](std::string_view bytes) {
    const ssmkit::io::Npz npz = ssmkit::io::decode_npz(bytes, ssmkit::fuzz::kOrigin);
    for (const auto& entry : npz.entries()) {
      ssmkit::fuzz::require(npz.contains(entry.first), "every entry is found by name");
      ssmkit::io::encode_npy(entry.second);
    }
  });
}
