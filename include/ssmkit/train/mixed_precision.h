// bf16 mixed precision on CUDA: an RAII guard that turns autocast on around the forward pass and
// loss, as torch.autocast(device_type="cuda", dtype=torch.bfloat16) does. bf16 keeps float32's
// exponent range, so no gradient scaling is needed. On the CPU the guard does nothing.
#pragma once

#include <c10/core/Device.h>

namespace ssmkit::train {

class AutocastGuard {
 public:
  // Active only when `enabled` and `device` is CUDA.
  AutocastGuard(bool enabled, const c10::Device& device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

  bool active() const { return active_; }

 private:
  bool active_ = false;
  bool previous_enabled_ = false;
  int previous_dtype_ = 0;  // at::ScalarType, stored as int to keep ATen out of this header
};

}  // namespace ssmkit::train
