// Patching and patch embedding against plain loops.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "ssmkit/nn/patch_embedding.h"
#include "test_helpers.h"

namespace {

using namespace ssmkit::nn;
using ssmkit::testing::relative_error;

TEST(PatchEmbedding, PatchCountMatchesPatchTSTFormula) {
  EXPECT_EQ(patch_count(96, 16, 8), 12);  // (96 - 16) / 8 + 2
  EXPECT_EQ(patch_count(336, 16, 8), 42);
  EXPECT_EQ(patch_count(10, 4, 3), 4);  // padded length 13: windows at 0, 3, 6, 9
  EXPECT_EQ(patch_count(5, 8, 4), 1);   // shorter than a patch, but padding makes one
  EXPECT_THROW(patch_count(3, 8, 4), c10::Error);
  EXPECT_THROW(patch_count(10, 4, 0), c10::Error);
}

TEST(PatchEmbedding, PatchesMatchPlainLoopWithReplicatedEnd) {
  for (auto [L, len, stride] :
       {std::tuple<int64_t, int64_t, int64_t>{96, 16, 8}, {10, 4, 3}, {11, 5, 2}, {7, 7, 7}}) {
    const int64_t B = 2, C = 3;
    const at::Tensor x = torch::randn({B, C, L}, torch::kDouble);
    const at::Tensor patches = make_patches(x, len, stride);
    const int64_t P = patch_count(L, len, stride);
    ASSERT_EQ(patches.sizes(), (std::vector<int64_t>{B, C, P, len}));
    auto xa = x.accessor<double, 3>();
    auto pa = patches.accessor<double, 4>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t p = 0; p < P; ++p)
          for (int64_t k = 0; k < len; ++k) {
            const int64_t t = std::min(p * stride + k, L - 1);  // padding repeats the last value
            ASSERT_EQ(pa[b][c][p][k], xa[b][c][t]) << "L " << L << " p " << p << " k " << k;
          }
  }
}

TEST(PatchEmbedding, SinusoidalTableMatchesFormula) {
  const int64_t P = 9, D = 7;
  const at::Tensor table = sinusoidal_positions(P, D);
  ASSERT_EQ(table.sizes(), (std::vector<int64_t>{P, D}));
  for (int64_t p = 0; p < P; ++p) {
    for (int64_t d = 0; d < D; ++d) {
      const double freq = std::exp(-(d - d % 2) * std::log(10000.0) / D);
      const double expected = d % 2 == 0 ? std::sin(p * freq) : std::cos(p * freq);
      EXPECT_NEAR(table[p][d].item<double>(), expected, 1e-6);
    }
  }
}

TEST(PatchEmbedding, TokensAreLinearMapOfPatchesPlusPositions) {
  for (auto positional : {PositionalEmbedding::kSinusoidal, PositionalEmbedding::kLearned}) {
    PatchEmbeddingOptions o;
    o.seq_len = 20;
    o.patch_len = 6;
    o.stride = 4;
    o.d_model = 5;
    o.dropout = 0.5;
    o.positional = positional;
    PatchEmbedding embed(o);
    embed->eval();  // no dropout
    const at::Tensor x = torch::randn({3, 2, 20});
    const at::Tensor tokens = embed->forward(x);
    const int64_t P = patch_count(20, 6, 4);
    ASSERT_EQ(tokens.sizes(), (std::vector<int64_t>{3, 2, P, 5}));
    const auto params = embed->named_parameters();
    const at::Tensor W = params["value_embedding.weight"];  // (d_model, patch_len)
    const at::Tensor pos = positional == PositionalEmbedding::kLearned
                               ? params["positions"]
                               : embed->named_buffers()["positions"];
    const at::Tensor expected =
        torch::matmul(make_patches(x, 6, 4), W.t()) + pos;  // (B, C, P, d_model)
    EXPECT_LT(relative_error(tokens, expected), 1e-6);
    // Only the learned table is trained.
    EXPECT_EQ(params.contains("positions"), positional == PositionalEmbedding::kLearned);
  }
}

TEST(PatchEmbedding, RejectsWrongLength) {
  PatchEmbeddingOptions o;
  o.seq_len = 32;
  PatchEmbedding embed(o);
  try {
    embed->forward(torch::randn({2, 3, 31}));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    EXPECT_NE(msg.find("'x' has shape [2, 3, 31]"), std::string::npos) << msg;
  }
}

}  // namespace
