// ops::multi_head_attention on the CPU (LibTorch's attention): the packed layout's heads against
// the formula in float64, dropout on the weights, and the argument errors. The CUDA kernels are
// held to the same formula in tests/gpu/test_attention_cuda.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "ssmkit/io/error.h"
#include "ssmkit/ops/attention.h"

namespace {

using ssmkit::ops::multi_head_attention;

TEST(MultiHeadAttention, PackedHeadsFollowTheFormulaInFloat64) {
  torch::manual_seed(3);
  const int64_t batch = 2, length = 7, heads = 3, head_dim = 4, d_model = heads * head_dim;
  const at::Tensor qkv = torch::randn({batch, length, 3 * d_model}, torch::kDouble);
  const at::Tensor y = multi_head_attention(qkv, heads, 0.0);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{batch, length, d_model}));
  for (int64_t h = 0; h < heads; ++h) {
    const auto part = [&](int64_t which) {
      return qkv.narrow(2, which * d_model + h * head_dim, head_dim);  // (B, L, d)
    };
    const at::Tensor weights = torch::softmax(
        torch::matmul(part(0), part(1).transpose(1, 2)) / std::sqrt(double(head_dim)), -1);
    const at::Tensor want = torch::matmul(weights, part(2));
    EXPECT_TRUE(torch::allclose(y.narrow(2, h * head_dim, head_dim), want, 1e-12, 1e-12))
        << "head " << h;
  }
}

TEST(MultiHeadAttention, DropoutZeroesAboutPOfTheWeights) {
  torch::manual_seed(4);
  // Values = identity rows (L = d): the output is the dropped, rescaled weights themselves.
  const int64_t batch = 64, heads = 2, length = 16;
  at::Tensor qkv = torch::randn({batch, length, 3, heads, length});
  qkv.select(2, 2).copy_(torch::eye(length).view({1, length, 1, length}));
  const at::Tensor y = multi_head_attention(qkv.view({batch, length, -1}), heads, 0.4);
  const double kept = (y != 0).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(kept, 0.6, 0.015);
  // Kept weights are rescaled by 1 / (1 - p): each row's sum is 1 in expectation.
  EXPECT_NEAR(y.view({batch, length, heads, length}).sum(-1).mean().item<double>(), 1.0, 0.02);
}

TEST(MultiHeadAttention, BadArgumentsAreNamed) {
  const at::Tensor qkv = torch::randn({2, 5, 30});
  EXPECT_THAT([&] { multi_head_attention(qkv, 4, 0.0); },
              ::testing::ThrowsMessage<c10::Error>(::testing::HasSubstr("'qkv' has shape")));
  EXPECT_THAT([&] { multi_head_attention(qkv, 1, 1.0); },
              ::testing::ThrowsMessage<ssmkit::InputError>(
                  ::testing::HasSubstr("dropout must be in [0, 1)")));
  EXPECT_THAT(
      [&] {
        multi_head_attention(torch::randn({2, 30}), 1, 0.0);
      },
      ::testing::ThrowsMessage<c10::Error>(::testing::HasSubstr("'qkv' has shape")));
}

}  // namespace
