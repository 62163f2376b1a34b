// ops::gelu_channel_scaled and ops::glu_channel_scaled on CUDA (the kernels of
// kernels/cuda/channel_scaled for float32) against the same functions on the CPU in float64:
// outputs and gradients, with and without the scale and the residual, at S4Model's shape and at
// an odd one.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "ssmkit/ops/channel_scaled_activations.h"
#include "ssmkit/util/checks.h"
#include "test_helpers.h"

namespace ssmkit::testing {
namespace {

using Inputs = std::vector<at::Tensor>;

void expect_like_the_cpu(const std::function<at::Tensor(const Inputs&)>& f, const Inputs& inputs,
                         const std::vector<bool>& differentiable, const at::Tensor& upstream,
                         const std::string& what) {
  const auto want =
      output_and_gradients(f, inputs, differentiable, upstream, at::TensorOptions(torch::kDouble));
  const auto got = output_and_gradients(f, inputs, differentiable, upstream,
                                        at::TensorOptions(torch::kFloat).device(torch::kCUDA));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].defined(), want[i].defined()) << what << ", result " << i;
    if (got[i].defined()) {
      EXPECT_LT(relative_error(got[i], want[i]), 1e-5) << what << ", result " << i;
    }
  }
}

TEST(ChannelScaledCuda, MatchesTheCpuInFloat64) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(12);
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{64, 784, 128}, {3, 7, 5}}) {
    const int64_t b = shape[0], l = shape[1], h = shape[2];
    const at::Tensor y = torch::randn({b, l, h}, torch::kDouble) * 2;
    const at::Tensor lin = torch::randn({b, l, 2 * h}, torch::kDouble) * 2;
    const at::Tensor residual = torch::randn({b, l, h}, torch::kDouble);
    const at::Tensor upstream = torch::randn({b, l, h}, torch::kDouble);
    const at::Tensor mask = (torch::rand({b, 1, h}, torch::kDouble) > 0.1).to(torch::kDouble) / 0.9;
    for (const at::Tensor& scale : {mask, at::Tensor()}) {
      const std::string where = shape_string(shape) + (scale.defined() ? ", scaled" : "");
      expect_like_the_cpu([](const Inputs& in) { return ops::gelu_channel_scaled(in[0], in[1]); },
                          {y, scale}, {true, false}, upstream, "gelu " + where);
      for (const at::Tensor& r : {residual, at::Tensor()}) {
        expect_like_the_cpu(
            [](const Inputs& in) { return ops::glu_channel_scaled(in[0], in[1], in[2]); },
            {lin, scale, r}, {true, false, true}, upstream,
            "glu " + where + (r.defined() ? ", residual" : ""));
      }
    }
  }
}

}  // namespace
}  // namespace ssmkit::testing
