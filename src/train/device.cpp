// Device selection.
#include "ssmkit/train/device.h"

#include <torch/cuda.h>

#include "ssmkit/io/error.h"

namespace ssmkit::train {

c10::Device resolve_device(const std::string& spec, const std::string& flag) {
  const bool cuda_available = torch::cuda::is_available();
  if (spec == "auto") return cuda_available ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (spec == "cpu") return c10::Device(c10::kCPU);
  if (spec.rfind("cuda", 0) != 0) {
    throw InputError(flag + " " + spec + ": expected cpu, cuda, cuda:<index> or auto");
  }
  int64_t index = 0;
  if (spec != "cuda") {
    const std::string digits = spec.size() > 5 && spec[4] == ':' ? spec.substr(5) : "";
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
      throw InputError(flag + " " + spec + ": expected cpu, cuda, cuda:<index> or auto");
    }
    index = std::stoll(digits);
  }
  if (!cuda_available) {
    throw InputError(flag + " " + spec +
                     ": CUDA is not available (LibTorch was built without CUDA or no GPU is "
                     "visible); use " +
                     flag + " cpu");
  }
  const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  if (index >= count) {
    throw InputError(flag + " " + spec + ": there are only " + std::to_string(count) +
                     " CUDA device(s)");
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

}  // namespace ssmkit::train
