// Shape tracing: silent when off; when on, each block logs its name and input/output shapes.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <sstream>

#include "ssmkit/nn/mamba_layer.h"
#include "ssmkit/util/trace.h"

namespace {

// Sends spdlog's default logger into a string and restores logger and tracing switch afterwards.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()), was_on_(ssmkit::trace_shapes_enabled()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
  }
  ~CapturedLog() {
    spdlog::set_default_logger(previous_);
    ssmkit::set_trace_shapes(was_on_);
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
  bool was_on_;
};

ssmkit::nn::MambaLayer small_layer() {
  ssmkit::nn::MambaOptions o;
  o.d_model = 8;
  o.d_state = 4;
  return ssmkit::nn::MambaLayer(o);
}

TEST(TraceShapes, SilentWhenOff) {
  CapturedLog log;
  ssmkit::set_trace_shapes(false);
  auto layer = small_layer();
  layer(torch::randn({2, 3, 8}));
  EXPECT_EQ(log.text(), "");
}

TEST(TraceShapes, EveryBlockLogsNameAndShapes) {
  CapturedLog log;
  ssmkit::set_trace_shapes(true);
  auto layer = small_layer();
  layer(torch::randn({2, 3, 8}));
  auto cache = layer->make_cache(2);
  layer->step(torch::randn({2, 8}), cache);
  const std::string text = log.text();
  EXPECT_NE(text.find("shapes RMSNorm: [2, 3, 8] -> [2, 3, 8]"), std::string::npos) << text;
  EXPECT_NE(text.find("shapes Mamba: [2, 3, 8] -> [2, 3, 8]"), std::string::npos) << text;
  EXPECT_NE(text.find("shapes MambaLayer: [2, 3, 8] -> [2, 3, 8]"), std::string::npos) << text;
  EXPECT_NE(text.find("shapes Mamba::step: [2, 8] -> [2, 8]"), std::string::npos) << text;
  EXPECT_NE(text.find("shapes MambaLayer::step: [2, 8] -> [2, 8]"), std::string::npos) << text;
}

}  // namespace
