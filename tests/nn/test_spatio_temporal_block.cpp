// The spatio-temporal block: shapes, gate bounds, the gated fusion, causality along patches,
// mixing across channels, gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/nn/spatio_temporal_block.h"
#include "test_helpers.h"

namespace {

using namespace ssmkit::nn;
using ssmkit::testing::relative_error;

SpatioTemporalBlock tiny_block() {
  SpatioTemporalBlockOptions o;
  o.mamba.d_model = 8;
  o.mamba.d_state = 4;
  o.mamba.expand = 1;
  o.n_heads = 2;
  o.dropout = 0.1;
  return SpatioTemporalBlock(o);
}

TEST(SpatioTemporalBlock, ShapesGateBoundsAndGatedFusion) {
  SpatioTemporalBlock block = tiny_block();
  block->eval();
  const at::Tensor x = torch::randn({2, 5, 6, 8});
  const auto parts = block->forward_parts(x);
  for (const at::Tensor* t : {&parts.spatial, &parts.temporal, &parts.gate, &parts.output}) {
    EXPECT_EQ(t->sizes(), x.sizes());
  }
  EXPECT_GT(parts.gate.min().item<float>(), 0.0f);
  EXPECT_LT(parts.gate.max().item<float>(), 1.0f);
  const at::Tensor expected = x + parts.gate * parts.spatial + (1 - parts.gate) * parts.temporal;
  EXPECT_LT(relative_error(parts.output, expected), 1e-6);
  EXPECT_LT(relative_error(block->forward(x), parts.output), 1e-6);
}

TEST(SpatioTemporalBlock, CausalAlongPatchesAndMixesChannels) {
  SpatioTemporalBlock block = tiny_block();
  block->eval();
  const at::Tensor x = torch::randn({2, 5, 6, 8});
  at::Tensor perturbed = x.clone();
  perturbed.select(1, 0).select(1, 2).add_(1.0);  // channel 0, patch 2
  const at::Tensor change = (block->forward(perturbed) - block->forward(x)).abs();
  using torch::indexing::Slice;
  EXPECT_EQ(change.index({Slice(), Slice(), Slice(0, 2)}).max().item<float>(), 0.0f);
  EXPECT_GT(change.index({Slice(), Slice(1), 2}).max().item<float>(), 0.0f) << "no mixing";
  EXPECT_GT(change.index({Slice(), 0, Slice(3)}).max().item<float>(), 0.0f) << "no memory";
}

TEST(SpatioTemporalBlock, GradientsReachEveryParameter) {
  SpatioTemporalBlock block = tiny_block();
  const at::Tensor x = torch::randn({2, 3, 4, 8}, torch::requires_grad());
  (block->forward(x) * torch::randn({2, 3, 4, 8})).sum().backward();
  EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
  for (const auto& p : block->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
  }
}

TEST(SpatioTemporalBlock, RejectsHeadsThatDoNotDivideWidth) {
  SpatioTemporalBlockOptions o;
  o.mamba.d_model = 8;
  o.n_heads = 3;
  EXPECT_THROW(SpatioTemporalBlock{o}, c10::Error);
}

}  // namespace
