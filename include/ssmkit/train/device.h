// Device selection from a flag value: "cpu", "cuda", "cuda:<index>" or "auto" (CUDA when
// available). Asking for CUDA where there is none is an error, never a silent CPU run.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace ssmkit::train {

// Throws InputError naming `flag` when the spec is malformed or CUDA is unavailable.
c10::Device resolve_device(const std::string& spec, const std::string& flag = "--device");

}  // namespace ssmkit::train
