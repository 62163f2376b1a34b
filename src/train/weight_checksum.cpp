// CRC-32C of a model's parameters.
#include "ssmkit/train/weight_checksum.h"

#include <torch/torch.h>

#include <cstdio>

#include "ssmkit/io/crc32c.h"

namespace ssmkit::train {

uint32_t weight_checksum(const TrainableModel& model) {
  uint32_t crc = 0;
  for (const auto& item : model.named_parameters()) {
    crc = io::crc32c(item.key().data(), item.key().size(), crc);
    const at::Tensor host = item.value().detach().to(torch::kCPU).contiguous();
    crc = io::crc32c(host.data_ptr(), static_cast<size_t>(host.nbytes()), crc);
  }
  return crc;
}

std::string checksum_text(uint32_t checksum) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%08x", checksum);
  return text;
}

}  // namespace ssmkit::train
