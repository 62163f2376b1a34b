// A checksum of a model's weights, to show that data-parallel ranks end a run with the same
// weights bit for bit (and to compare runs): CRC-32C over the parameters' bytes in name order.
#pragma once

#include <cstdint>
#include <string>

#include "ssmkit/train/trainable_model.h"

namespace ssmkit::train {

// CRC-32C of every parameter's name and float data (copied to the host, contiguous), in the
// order of named_parameters().
uint32_t weight_checksum(const TrainableModel& model);

// "0x1234abcd".
std::string checksum_text(uint32_t checksum);

}  // namespace ssmkit::train
