// The CMamba encoder layer: shapes, causality along patches, channel independence without the
// channel mixers and channel mixing with them, gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/nn/cmamba_layer.h"

namespace {

using namespace ssmkit::nn;

CMambaLayerOptions tiny_layer(bool gdd, bool attention) {
  CMambaLayerOptions o;
  o.mamba.d_model = 8;
  o.mamba.d_state = 4;
  o.mamba.expand = 1;
  o.num_channels = 4;
  o.gdd_mlp = gdd;
  o.channel_attention = attention;
  o.dropout = 0.1;
  return o;
}

// max |f(x) - f(x')| over channels `c` (dim 1) for x' = x with channel 0 at patch `p` perturbed.
at::Tensor change_after_perturbing(CMambaLayer& layer, const at::Tensor& x, int64_t patch) {
  at::Tensor perturbed = x.clone();
  perturbed.select(1, 0).select(1, patch).add_(1.0);
  return (layer->forward(perturbed) - layer->forward(x)).abs();  // (B, C, P, D)
}

TEST(CMambaLayer, CausalAlongPatchesAndChannelIndependentWithoutChannelMixers) {
  CMambaLayer layer(tiny_layer(false, false));
  layer->eval();
  const at::Tensor x = torch::randn({2, 4, 6, 8});
  const at::Tensor change = change_after_perturbing(layer, x, 3);
  using torch::indexing::Slice;
  EXPECT_EQ(change.index({Slice(), Slice(), Slice(0, 3)}).max().item<float>(), 0.0f);
  EXPECT_GT(change.index({Slice(), 0, Slice(3)}).max().item<float>(), 0.0f);
  EXPECT_EQ(change.index({Slice(), Slice(1)}).max().item<float>(), 0.0f) << "channels leak";
}

TEST(CMambaLayer, ChannelMixersMixChannelsAndStayCausal) {
  for (auto [gdd, attention] : {std::pair<bool, bool>{true, false}, {false, true}, {true, true}}) {
    CMambaLayer layer(tiny_layer(gdd, attention));
    layer->eval();
    const at::Tensor x = torch::randn({2, 4, 6, 8});
    const at::Tensor change = change_after_perturbing(layer, x, 3);
    using torch::indexing::Slice;
    EXPECT_GT(change.index({Slice(), Slice(1)}).max().item<float>(), 0.0f)
        << "gdd " << gdd << " attention " << attention;
    if (!attention) {  // channel attention pools over all patches; the GDD-MLP per patch
      EXPECT_EQ(change.index({Slice(), Slice(), Slice(0, 3)}).max().item<float>(), 0.0f);
    }
  }
}

TEST(CMambaLayer, GradientsReachEveryParameter) {
  CMambaLayer layer(tiny_layer(true, true));
  const at::Tensor x = torch::randn({3, 4, 5, 8}, torch::requires_grad());
  const at::Tensor out = layer->forward(x);
  ASSERT_EQ(out.sizes(), x.sizes());
  (out * torch::randn_like(out)).sum().backward();
  EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
  for (const auto& p : layer->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
  }
}

TEST(CMambaLayer, RejectsWrongTokenShape) {
  CMambaLayer layer(tiny_layer(true, false));
  try {
    layer->forward(torch::randn({2, 3, 5, 8}));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    EXPECT_NE(msg.find("'x' has shape [2, 3, 5, 8]"), std::string::npos) << msg;
  }
}

}  // namespace
