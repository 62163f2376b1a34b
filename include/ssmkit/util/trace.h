// Shape tracing: with SSMKIT_TRACE_SHAPES=1 in the environment, or after set_trace_shapes(true)
// (programs call it for --trace_shapes), every nn block logs its name and its input and output
// shapes. When off, a block pays one relaxed atomic load.
#pragma once

#include <ATen/core/Tensor.h>

#include <atomic>

namespace ssmkit {

namespace detail {
extern std::atomic<bool> trace_shapes_on;
void log_shapes(const char* block, const at::Tensor& input, const at::Tensor& output);
}  // namespace detail

// Turns shape tracing on or off for the whole process (overrides the environment).
void set_trace_shapes(bool on);

inline bool trace_shapes_enabled() {
  return detail::trace_shapes_on.load(std::memory_order_relaxed);
}

// Logs "<block>: [in shape] -> [out shape]" at info level when tracing is on.
inline void trace_shapes(const char* block, const at::Tensor& input, const at::Tensor& output) {
  if (trace_shapes_enabled()) detail::log_shapes(block, input, output);
}

}  // namespace ssmkit
