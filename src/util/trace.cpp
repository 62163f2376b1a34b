// Shape tracing switch (environment or program flag) and its log line.
#include "ssmkit/util/trace.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>

#include "ssmkit/util/checks.h"

namespace ssmkit {
namespace {

constexpr const char* kTraceEnvVar = "SSMKIT_TRACE_SHAPES";

bool env_asks_for_tracing() {
  const char* value = std::getenv(kTraceEnvVar);
  return value != nullptr && *value != '\0' && std::strcmp(value, "0") != 0;
}

std::string describe(const at::Tensor& t) {
  return t.defined() ? shape_string(t.sizes()) : std::string("(none)");
}

}  // namespace

namespace detail {
std::atomic<bool> trace_shapes_on{env_asks_for_tracing()};

void log_shapes(const char* block, const at::Tensor& input, const at::Tensor& output) {
  spdlog::info("shapes {}: {} -> {}", block, describe(input), describe(output));
}
}  // namespace detail

void set_trace_shapes(bool on) {
  detail::trace_shapes_on.store(on, std::memory_order_relaxed);
}

}  // namespace ssmkit
