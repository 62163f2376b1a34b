// The pre-norm transformer layer and its attention against the formulas written out in float64:
// softmax(QK^T / sqrt(d)) V per head, the residual branches, LayerNorm, GELU; dropout only in
// training mode; sinusoidal positions as sin/cos of p * 10000^(-2i/d) and their interpolation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "ssmkit/nn/sinusoidal_positions.h"
#include "ssmkit/nn/transformer_encoder_layer.h"
#include "test_helpers.h"

namespace ssmkit::nn {
namespace {

at::Tensor attention_by_formula(SelfAttentionImpl& a, const at::Tensor& x) {
  const int64_t b = x.size(0), l = x.size(1), d = x.size(2), h = a.options().num_heads;
  const auto qkv = torch::matmul(x, a.qkv->weight.t());  // no bias
  const auto split = [&](int64_t i) {
    return qkv.narrow(2, i * d, d).reshape({b, l, h, d / h}).permute({0, 2, 1, 3});
  };
  const auto scores =
      torch::matmul(split(0), split(1).transpose(-1, -2)) / std::sqrt(static_cast<double>(d / h));
  const auto y =
      torch::matmul(torch::softmax(scores, -1), split(2)).permute({0, 2, 1, 3}).reshape({b, l, d});
  return torch::matmul(y, a.out->weight.t()) + a.out->bias;
}

TEST(TransformerEncoderLayer, MatchesTheFormulasInFloat64) {
  torch::manual_seed(5);
  TransformerEncoderLayer layer(TransformerEncoderLayerOptions{8, 2, 16});
  layer->to(torch::kFloat64);
  layer->eval();
  const at::Tensor x = torch::randn({3, 5, 8}, torch::kFloat64);
  const auto ln = [](const at::Tensor& v, torch::nn::LayerNorm& norm) {
    const auto mean = v.mean(-1, true);
    const auto var = (v - mean).pow(2).mean(-1, true);
    return (v - mean) / torch::sqrt(var + 1e-5) * norm->weight + norm->bias;
  };
  const at::Tensor h = x + attention_by_formula(*layer->attention, ln(x, layer->attention_norm));
  const at::Tensor inner = ln(h, layer->ffn_norm);
  const at::Tensor ffn =
      torch::matmul(0.5 * (torch::matmul(inner, layer->ffn_in->weight.t()) + layer->ffn_in->bias) *
                        (1 + torch::erf((torch::matmul(inner, layer->ffn_in->weight.t()) +
                                         layer->ffn_in->bias) /
                                        std::sqrt(2.0))),
                    layer->ffn_out->weight.t()) +
      layer->ffn_out->bias;
  EXPECT_LT(testing::relative_error(layer->forward(x), h + ffn), 1e-12);
}

TEST(TransformerEncoderLayer, DropoutActsOnlyInTraining) {
  TransformerEncoderLayer layer(TransformerEncoderLayerOptions{8, 2, 16});
  const at::Tensor x = torch::randn({2, 6, 8});
  layer->train();
  EXPECT_FALSE(torch::allclose(layer->forward(x), layer->forward(x)));
  layer->eval();
  EXPECT_TRUE(torch::equal(layer->forward(x), layer->forward(x)));
  layer->train();
  layer->forward(x).sum().backward();
  testing::expect_gradient_in_every_parameter(*layer);
}

TEST(SinusoidalPositions, SinOnEvenCosOnOddFeaturesAndLinearResizing) {
  const at::Tensor table = sinusoidal_positions(7, 6, torch::kFloat64);
  for (int64_t p = 0; p < 7; ++p) {
    for (int64_t i = 0; i < 3; ++i) {
      const double angle =
          static_cast<double>(p) * std::pow(10000.0, -2.0 * static_cast<double>(i) / 6.0);
      EXPECT_NEAR(table[p][2 * i].item<double>(), std::sin(angle), 1e-12);
      EXPECT_NEAR(table[p][2 * i + 1].item<double>(), std::cos(angle), 1e-12);
    }
  }
  const at::Tensor two = torch::tensor({{0.0, 10.0}, {4.0, 30.0}}, torch::kFloat64);
  // align_corners false: 4 rows sample 2 at -0.25, 0.25, 0.75, 1.25 (clamped at the ends).
  const at::Tensor expected =
      torch::tensor({{0.0, 10.0}, {1.0, 15.0}, {3.0, 25.0}, {4.0, 30.0}}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(resize_positions(two, 4), expected));
  EXPECT_TRUE(torch::equal(resize_positions(table, 7), table));
}

}  // namespace
}  // namespace ssmkit::nn
