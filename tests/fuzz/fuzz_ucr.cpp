// libFuzzer target: the UCR .tsv reader.
#include "fuzz_target.h"
#include "ssmkit/io/ucr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ssmkit::fuzz::run_parser(data, size, [](std::string_view bytes) {
    const ssmkit::io::UcrSplit split = ssmkit::io::parse_ucr_tsv(bytes, ssmkit::fuzz::kOrigin);
    ssmkit::fuzz::require(split.series.dim() == 2 && split.series.size(0) == split.labels.numel(),
                          "one label per series");
  });
}
