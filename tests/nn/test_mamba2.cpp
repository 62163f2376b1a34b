// The Mamba-2 block: shapes and Mamba-2's initialisation, forward against the block written out
// with the sequential scan, recurrent and chunked inference against forward() in float64,
// gradients, JSON options and bad-input messages.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "ssmkit/io/error.h"
#include "ssmkit/nn/mamba2.h"
#include "ssmkit/ops/ssd_scan.h"
#include "test_helpers.h"

namespace {

using ssmkit::nn::Mamba2;
using ssmkit::nn::Mamba2Cache;
using ssmkit::nn::Mamba2Options;
using ssmkit::testing::relative_error;

constexpr double kMamba2RecurrentTol =
    1e-10;  // float64; step and chunked scan differ only in rounding

// d_inner 16, 4 heads of 4 channels, B and C in 2 groups; chunks of 4 tokens.
Mamba2Options small_mamba2_options() {
  Mamba2Options o;
  o.d_model = 8;
  o.d_state = 5;
  o.d_conv = 3;
  o.headdim = 4;
  o.ngroups = 2;
  o.chunk_size = 4;
  return o;
}

Mamba2 double_block(const Mamba2Options& options) {
  Mamba2 block(options);
  block->to(torch::kDouble);
  return block;
}

// Steps through x (B, L, d) one token at a time.
at::Tensor run_steps(Mamba2& block, const at::Tensor& x, Mamba2Cache& cache) {
  std::vector<at::Tensor> ys;
  for (int64_t t = 0; t < x.size(1); ++t)
    ys.push_back(block->step(x.select(1, t), cache));
  return torch::stack(ys, 1);
}

TEST(Mamba2, ForwardKeepsShape) {
  Mamba2 block(small_mamba2_options());
  const at::Tensor x = torch::randn({2, 7, 8});
  const at::Tensor y = block(x);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
}

TEST(Mamba2, ParametersFollowMamba2sShapesAndInitialisation) {
  const Mamba2Options o = small_mamba2_options();
  Mamba2 block(o);
  EXPECT_EQ(o.nheads(), 4);
  // z (16), xBC (16 + 2 * 2 * 5), dt (4 heads)
  EXPECT_EQ(block->in_proj->weight.sizes(), (std::vector<int64_t>{16 + 36 + 4, 8}));
  EXPECT_FALSE(block->in_proj->bias.defined());
  EXPECT_EQ(block->conv_weight.sizes(), (std::vector<int64_t>{36, 3}));
  EXPECT_EQ(block->conv_bias.sizes(), (std::vector<int64_t>{36}));
  EXPECT_EQ(block->out_proj->weight.sizes(), (std::vector<int64_t>{8, 16}));
  EXPECT_TRUE(torch::equal(block->D, torch::ones({4})));
  EXPECT_TRUE(torch::equal(block->norm_weight, torch::ones({16})));
  const at::Tensor dt = torch::softplus(block->dt_bias);
  EXPECT_GE(dt.min().item<double>(), o.dt_min * (1 - 1e-5));
  EXPECT_LE(dt.max().item<double>(), o.dt_max * (1 + 1e-5));
  const at::Tensor minus_a = torch::exp(block->A_log);
  EXPECT_GE(minus_a.min().item<double>(), 1.0 - 1e-6);
  EXPECT_LE(minus_a.max().item<double>(), 16.0 + 1e-5);
}

// The block written out with plain ops and the sequential scan: in_proj split (z, xBC, dt),
// conv + SiLU, softplus(dt + dt_bias), scan + D x, RMSNorm of y silu(z) per group, out_proj.
at::Tensor written_out(Mamba2& block, const at::Tensor& x) {  // (B, L, d) -> (B, L, d)
  const Mamba2Options& o = block->options();
  const int64_t batch = x.size(0), len = x.size(1), d_inner = o.d_inner(), heads = o.nheads();
  const int64_t gn = o.ngroups * o.d_state;
  const at::Tensor zxbcdt = block->in_proj(x);
  const at::Tensor z = zxbcdt.narrow(-1, 0, d_inner);
  const at::Tensor xbc = zxbcdt.narrow(-1, d_inner, d_inner + 2 * gn).transpose(1, 2);
  const at::Tensor dt =
      torch::softplus(zxbcdt.narrow(-1, 2 * d_inner + 2 * gn, heads) + block->dt_bias);
  const at::Tensor conv =
      torch::silu(torch::conv1d(xbc, block->conv_weight.unsqueeze(1), block->conv_bias, 1,
                                o.d_conv - 1, 1, xbc.size(1))
                      .narrow(2, 0, len)
                      .transpose(1, 2));
  const at::Tensor xs = conv.narrow(-1, 0, d_inner).reshape({batch, len, heads, o.headdim});
  const at::Tensor B = conv.narrow(-1, d_inner, gn).reshape({batch, len, o.ngroups, o.d_state});
  const at::Tensor C =
      conv.narrow(-1, d_inner + gn, gn).reshape({batch, len, o.ngroups, o.d_state});
  const at::Tensor y = ssmkit::ops::ssd_scan_reference(xs, dt, -torch::exp(block->A_log), B, C).y +
                       xs * block->D.unsqueeze(-1);
  const at::Tensor gated = (y.reshape({batch, len, d_inner}) * torch::silu(z))
                               .reshape({batch, len, o.ngroups, d_inner / o.ngroups});
  const at::Tensor normed = gated / torch::sqrt(gated.pow(2).mean(-1, true) + 1e-5);
  return block->out_proj(normed.reshape({batch, len, d_inner}) * block->norm_weight);
}

TEST(Mamba2, ForwardMatchesTheBlockWrittenOutWithTheSequentialScan) {
  for (const int64_t groups : {1, 2}) {
    SCOPED_TRACE("ngroups " + std::to_string(groups));
    Mamba2Options o = small_mamba2_options();
    o.ngroups = groups;
    o.bias = true;
    Mamba2 block = double_block(o);
    {
      torch::NoGradGuard no_grad;  // a norm weight that is not all ones
      block->norm_weight.uniform_(0.5, 1.5);
    }
    const at::Tensor x = torch::randn({2, 11, 8}, torch::kDouble);
    EXPECT_LT(relative_error(block(x), written_out(block, x)), kMamba2RecurrentTol);
  }
}

TEST(Mamba2, StepMatchesForward) {
  for (const int64_t groups : {1, 2}) {
    SCOPED_TRACE("ngroups " + std::to_string(groups));
    Mamba2Options o = small_mamba2_options();
    o.ngroups = groups;
    Mamba2 block = double_block(o);
    const at::Tensor x = torch::randn({3, 11, 8}, torch::kDouble);
    Mamba2Cache cache = block->make_cache(3);
    EXPECT_LT(relative_error(run_steps(block, x, cache), block(x)), kMamba2RecurrentTol);
  }
}

TEST(Mamba2, ChunksAndPrefillThenStepMatchForward) {
  Mamba2 block = double_block(small_mamba2_options());
  const at::Tensor x = torch::randn({2, 17, 8}, torch::kDouble);
  const at::Tensor whole = block(x);

  Mamba2Cache two = block->make_cache(2);
  const at::Tensor first = block->forward_chunk(x.narrow(1, 0, 6), two);  // not a chunk multiple
  const at::Tensor second = block->forward_chunk(x.narrow(1, 6, 11), two);
  EXPECT_LT(relative_error(torch::cat({first, second}, 1), whole), kMamba2RecurrentTol);

  Mamba2Cache prefilled = block->make_cache(2);
  const at::Tensor prefill = block->forward_chunk(x.narrow(1, 0, 9), prefilled);
  const at::Tensor rest = run_steps(block, x.narrow(1, 9, 8), prefilled);
  EXPECT_LT(relative_error(torch::cat({prefill, rest}, 1), whole), kMamba2RecurrentTol);
  // Both caches hold the state after the whole sequence.
  EXPECT_LT(relative_error(prefilled.ssm_state, two.ssm_state), kMamba2RecurrentTol);
  EXPECT_LT(relative_error(prefilled.conv_state, two.conv_state), kMamba2RecurrentTol);
}

// The chunk length is a performance knob only: every chunk size gives the same block output.
TEST(Mamba2, ChunkSizeDoesNotChangeTheOutput) {
  Mamba2Options o = small_mamba2_options();
  o.chunk_size = 1;
  Mamba2 reference = double_block(o);
  const at::Tensor x = torch::randn({2, 13, 8}, torch::kDouble);
  const at::Tensor want = reference(x);
  for (const int64_t chunk : {3, 8, 64}) {
    o.chunk_size = chunk;
    Mamba2 block(o);
    torch::NoGradGuard no_grad;
    block->to(torch::kDouble);
    for (const auto& p : reference->named_parameters())
      block->named_parameters()[p.key()].copy_(p.value());
    EXPECT_LT(relative_error(block(x), want), kMamba2RecurrentTol) << "chunk " << chunk;
  }
}

TEST(Mamba2, GradientsReachEveryParameter) {
  Mamba2Options o = small_mamba2_options();
  o.bias = true;
  Mamba2 block(o);
  const at::Tensor x = torch::randn({2, 6, 8}, torch::requires_grad());
  block(x).pow(2).mean().backward();
  ssmkit::testing::expect_gradient_in_every_parameter(*block);
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
}

TEST(Mamba2Options, JsonRoundTripKeepsEveryField) {
  Mamba2Options o = small_mamba2_options();
  o.d_state = 16;
  o.expand = 4;
  o.dt_min = 0.002;
  o.dt_max = 0.2;
  o.dt_init_floor = 2e-4;
  o.bias = true;
  o.conv_bias = false;
  const nlohmann::json j = o;
  const Mamba2Options back = j.get<Mamba2Options>();
  EXPECT_EQ(nlohmann::json(back), j);
  EXPECT_EQ(back.headdim, 4);
  EXPECT_EQ(back.ngroups, 2);
  EXPECT_EQ(back.chunk_size, 4);
  EXPECT_FALSE(back.conv_bias);
  // Missing fields keep Mamba-2's defaults.
  const Mamba2Options defaults = nlohmann::json{{"d_model", 128}}.get<Mamba2Options>();
  EXPECT_EQ(defaults.d_state, 64);
  EXPECT_EQ(defaults.headdim, 64);
  EXPECT_EQ(defaults.nheads(), 4);
}

// The InputError message of reading `j` as options ("" when it was accepted).
std::string options_error(const nlohmann::json& j) {
  try {
    j.get<Mamba2Options>();
  } catch (const ssmkit::InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Mamba2Options, BadFieldsAreNamed) {
  EXPECT_EQ(options_error({{"d_model", 64}}), "");
  EXPECT_NE(options_error({{"d_model", 64}, {"head_dim", 32}}).find("unknown field 'head_dim'"),
            std::string::npos);
  EXPECT_NE(options_error({{"d_model", 64}, {"headdim", 48}})
                .find("Mamba2: 'headdim' must be a divisor of d_inner = expand * d_model = 128, "
                      "got 48"),
            std::string::npos);
  EXPECT_NE(options_error({{"d_model", 64}, {"headdim", 32}, {"ngroups", 3}})
                .find("'ngroups' must be a divisor of nheads = d_inner / headdim = 4, got 3"),
            std::string::npos);
  EXPECT_NE(options_error({{"d_model", 64}, {"chunk_size", 0}}).find("'chunk_size'"),
            std::string::npos);
  EXPECT_NE(
      options_error({{"d_model", 64}, {"d_state", "16"}}).find("'d_state' must be an integer"),
      std::string::npos);
  EXPECT_NE(options_error({{"d_state", 16}}).find("'d_model' must be > 0"), std::string::npos);
  EXPECT_THROW(Mamba2(Mamba2Options{}), ssmkit::InputError);
}

// The c10::Error message of `call` ("" when it did not throw).
template <typename Call>
std::string tensor_error(Call&& call) {
  try {
    call();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

TEST(Mamba2, BadInputsAndCachesAreNamed) {
  Mamba2 block(small_mamba2_options());
  const std::string bad_x = tensor_error([&] { block(torch::randn({2, 5, 7})); });
  EXPECT_NE(bad_x.find("Mamba2: 'x' has shape [2, 5, 7], expected (B, L, d_model)"),
            std::string::npos)
      << bad_x;
  Mamba2Cache cache = block->make_cache(3);
  const std::string bad_cache = tensor_error([&] { block->step(torch::randn({2, 8}), cache); });
  EXPECT_NE(bad_cache.find("Mamba2::step: 'cache.conv_state' has shape [3, 36, 3]"),
            std::string::npos)
      << bad_cache;
}

}  // namespace
