// libFuzzer target: the CIFAR-10 and CIFAR-100 binary readers.
#include "fuzz_target.h"
#include "ssmkit/io/cifar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ssmkit::fuzz::run_parser(data, size, [](std::string_view bytes) {
    const auto images = ssmkit::io::decode_cifar10(bytes, ssmkit::fuzz::kOrigin);
    ssmkit::fuzz::require(images.images.size(0) == images.size(), "one label per image");
  });
  return ssmkit::fuzz::run_parser(data, size, [](std::string_view bytes) {
    const auto images = ssmkit::io::decode_cifar100(bytes, ssmkit::fuzz::kOrigin);
    ssmkit::fuzz::require(images.coarse_labels.numel() == images.size(), "coarse label per image");
  });
}
