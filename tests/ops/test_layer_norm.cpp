// ops::layer_norm on the CPU: LibTorch's layer_norm, with its argument checks naming the
// parameter. The CUDA kernels are held to LibTorch in float64 in
// tests/gpu/test_layer_norm_cuda.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/ops/layer_norm.h"

namespace {

TEST(LayerNorm, WrongParameterShapesAreNamed) {
  const at::Tensor x = torch::randn({2, 3, 4});
  EXPECT_THAT([&] { ssmkit::ops::layer_norm(x, torch::ones({5}), torch::zeros({4}), 1e-5); },
              ::testing::ThrowsMessage<c10::Error>(::testing::HasSubstr("'weight' has shape")));
  EXPECT_THAT([&] { ssmkit::ops::layer_norm(x, torch::ones({4}), torch::zeros({3}), 1e-5); },
              ::testing::ThrowsMessage<c10::Error>(::testing::HasSubstr("'bias' has shape")));
}

TEST(LayerNorm, TheCpuPathIsLibTorchs) {
  const at::Tensor x = torch::randn({2, 3, 4});
  const at::Tensor w = torch::randn({4}), b = torch::randn({4});
  EXPECT_TRUE(
      torch::equal(ssmkit::ops::layer_norm(x, w, b, 1e-5), torch::layer_norm(x, {4}, w, b, 1e-5)));
}

}  // namespace
