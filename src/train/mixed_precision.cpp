// CUDA bf16 autocast guard. LibTorch 2.4 replaced the CUDA-specific autocast functions
// (set_enabled, set_autocast_gpu_dtype) by device-type ones and deprecated the old ones.
#include "ssmkit/train/mixed_precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#define SSMKIT_AUTOCAST_BY_DEVICE_TYPE \
  (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4))

namespace ssmkit::train {
namespace {

bool cuda_autocast_enabled() {
#if SSMKIT_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

void set_cuda_autocast(bool enabled, at::ScalarType dtype) {
#if SSMKIT_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
#else
  at::autocast::set_enabled(enabled);
  at::autocast::set_autocast_gpu_dtype(dtype);
#endif
}

at::ScalarType cuda_autocast_dtype() {
#if SSMKIT_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(at::kCUDA);
#else
  return at::autocast::get_autocast_gpu_dtype();
#endif
}

}  // namespace

AutocastGuard::AutocastGuard(bool enabled, const c10::Device& device)
    : active_(enabled && device.is_cuda()) {
  if (!active_) return;
  previous_enabled_ = cuda_autocast_enabled();
  previous_dtype_ = static_cast<int>(cuda_autocast_dtype());
  set_cuda_autocast(true, at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  // Leaving the outermost region frees the cached bf16 copies of the weights, as torch.autocast.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_cuda_autocast(previous_enabled_, static_cast<at::ScalarType>(previous_dtype_));
}

}  // namespace ssmkit::train
