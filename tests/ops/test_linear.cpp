// ops::linear on the CPU: LibTorch's linear, with its argument checks naming the argument. The
// CUDA path's gradients are held to LibTorch in float64 in tests/gpu/test_linear_cuda.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/ops/linear.h"

namespace {

using ::testing::HasSubstr;

TEST(Linear, TheCpuPathIsLibTorchs) {
  const at::Tensor x = torch::randn({2, 3, 4}), w = torch::randn({5, 4}), b = torch::randn({5});
  EXPECT_TRUE(torch::equal(ssmkit::ops::linear(x, w, b), torch::linear(x, w, b)));
}

TEST(Linear, WithoutABiasAndThroughAModule) {
  const at::Tensor x = torch::randn({2, 3, 4}), w = torch::randn({5, 4});
  EXPECT_TRUE(torch::equal(ssmkit::ops::linear(x, w, at::Tensor()), torch::linear(x, w)));
  torch::nn::Linear module(4, 5);
  EXPECT_TRUE(torch::equal(ssmkit::ops::linear(x, module), module(x)));
}

TEST(Linear, WrongShapesAreNamed) {
  const at::Tensor x = torch::randn({2, 3, 4}), w = torch::randn({5, 4}), b = torch::randn({5});
  EXPECT_THAT([&] { ssmkit::ops::linear(x, w.narrow(1, 0, 3), b); },
              ::testing::ThrowsMessage<c10::Error>(HasSubstr("linear: 'x' has shape [2, 3, 4]")));
  EXPECT_THAT([&] { ssmkit::ops::linear(x, w, b.narrow(0, 0, 4)); },
              ::testing::ThrowsMessage<c10::Error>(HasSubstr("linear: 'bias' has shape")));
}

}  // namespace
