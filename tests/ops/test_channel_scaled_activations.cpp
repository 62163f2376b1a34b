// ops::gelu_channel_scaled and ops::glu_channel_scaled (the CPU path of their autograd functions)
// against LibTorch's composition in float64, with gradients, with and without the scale and the
// residual; ops::channel_dropout_scale against ops::channel_dropout; shape errors named.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "ssmkit/ops/channel_scaled_activations.h"
#include "ssmkit/ops/dropout.h"
#include "test_helpers.h"

namespace ssmkit::testing {
namespace {

using Inputs = std::vector<at::Tensor>;

at::Tensor scaled_by(const at::Tensor& x, const at::Tensor& scale) {
  return scale.defined() ? x * scale : x;
}

// The fused function against the composition, same inputs, float64 on the CPU.
void expect_like_composition(const std::function<at::Tensor(const Inputs&)>& fused,
                             const std::function<at::Tensor(const Inputs&)>& composed,
                             const Inputs& inputs, const std::vector<bool>& differentiable,
                             const at::Tensor& upstream, const std::string& what) {
  const at::TensorOptions f64(torch::kDouble);
  const auto got = output_and_gradients(fused, inputs, differentiable, upstream, f64);
  const auto want = output_and_gradients(composed, inputs, differentiable, upstream, f64);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].defined(), want[i].defined()) << what << ", result " << i;
    if (got[i].defined()) {
      EXPECT_LT(relative_error(got[i], want[i]), 1e-13) << what << ", result " << i;
    }
  }
}

TEST(ChannelScaledActivations, GeluMatchesTheComposition) {
  torch::manual_seed(3);
  const at::Tensor y = torch::randn({3, 7, 5}, torch::kDouble) * 2;
  const at::Tensor upstream = torch::randn({3, 7, 5}, torch::kDouble);
  const at::Tensor mask = (torch::rand({3, 1, 5}, torch::kDouble) > 0.3).to(torch::kDouble) / 0.7;
  for (const at::Tensor& scale : {mask, at::Tensor()}) {
    expect_like_composition([](const Inputs& in) { return ops::gelu_channel_scaled(in[0], in[1]); },
                            [](const Inputs& in) { return scaled_by(torch::gelu(in[0]), in[1]); },
                            {y, scale}, {true, false}, upstream,
                            scale.defined() ? "gelu, scaled" : "gelu, no scale");
  }
}

TEST(ChannelScaledActivations, GluMatchesTheComposition) {
  torch::manual_seed(4);
  const at::Tensor lin = torch::randn({2, 9, 8}, torch::kDouble) * 2;
  const at::Tensor upstream = torch::randn({2, 9, 4}, torch::kDouble);
  const at::Tensor mask = (torch::rand({2, 1, 4}, torch::kDouble) > 0.5).to(torch::kDouble) * 2;
  const at::Tensor residual = torch::randn({2, 9, 4}, torch::kDouble);
  for (const at::Tensor& scale : {mask, at::Tensor()}) {
    for (const at::Tensor& r : {residual, at::Tensor()}) {
      expect_like_composition(
          [](const Inputs& in) { return ops::glu_channel_scaled(in[0], in[1], in[2]); },
          [](const Inputs& in) {
            const at::Tensor z = scaled_by(torch::glu(in[0], -1), in[1]);
            return in[2].defined() ? z + in[2] : z;
          },
          {lin, scale, r}, {true, false, true}, upstream,
          std::string("glu") + (scale.defined() ? ", scaled" : "") +
              (r.defined() ? ", residual" : ""));
    }
  }
}

TEST(ChannelScaledActivations, ChannelDropoutScaleIsChannelDropoutsMask) {
  const at::Tensor x = torch::randn({4, 6, 10});
  EXPECT_FALSE(ops::channel_dropout_scale(x, 0.3, false).defined());
  EXPECT_FALSE(ops::channel_dropout_scale(x, 0.0, true).defined());
  torch::manual_seed(11);
  const at::Tensor scale = ops::channel_dropout_scale(x, 0.25, true);
  torch::manual_seed(11);
  const at::Tensor dropped = ops::channel_dropout(x, 0.25, true);
  ASSERT_EQ(scale.sizes(), (std::vector<int64_t>{4, 1, 10}));
  EXPECT_TRUE(torch::equal(dropped, x * scale));
  EXPECT_TRUE(((scale == 0) | ((scale - 1 / 0.75).abs() < 1e-6)).all().item<bool>());
}

TEST(ChannelScaledActivations, BadShapesNamed) {
  const auto expect_error = [](const std::function<void()>& f, const std::string& message) {
    try {
      f();
      ADD_FAILURE() << "no error, expected: " << message;
    } catch (const c10::Error& e) {
      EXPECT_NE(std::string(e.what_without_backtrace()).find(message), std::string::npos)
          << e.what_without_backtrace();
    }
  };
  expect_error(
      [] {
        ops::gelu_channel_scaled(torch::randn({2, 3, 4}), torch::ones({2, 1, 5}));
      },
      "gelu_channel_scaled: 'scale' has shape [2, 1, 5], expected (B, 1, H) = [2, 1, 4]");
  expect_error(
      [] {
        ops::glu_channel_scaled(torch::randn({2, 3, 5}), {}, {});
      },
      "glu_channel_scaled: 'lin' has shape [2, 3, 5], expected an even last dimension");
  expect_error(
      [] {
        ops::glu_channel_scaled(torch::randn({2, 3, 8}), {}, torch::randn({2, 3, 8}));
      },
      "glu_channel_scaled: 'residual' has shape [2, 3, 8], expected (B, L, H) = [2, 3, 4]");
}

}  // namespace
}  // namespace ssmkit::testing
