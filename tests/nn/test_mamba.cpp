// The Mamba block, its residual layer and the stack: shapes, Mamba's initialisation, recurrent and
// chunked inference against forward() in float64, gradients, JSON options and bad-input messages.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/nn/mamba.h"
#include "ssmkit/nn/mamba_layer.h"
#include "test_helpers.h"

namespace {

using ssmkit::nn::Mamba;
using ssmkit::nn::MambaCache;
using ssmkit::nn::MambaLayer;
using ssmkit::nn::MambaOptions;
using ssmkit::nn::MambaStack;
using ssmkit::nn::MambaStackOptions;
using ssmkit::testing::relative_error;

constexpr double kRecurrentTol = 1e-10;  // float64; step and scan differ only in rounding

MambaOptions small_options() {
  MambaOptions o;
  o.d_model = 8;
  o.d_state = 4;
  o.d_conv = 3;
  return o;
}

// Steps through x (B, L, d) one token at a time with `step(x_t, cache)`.
template <typename Step>
at::Tensor run_steps(const at::Tensor& x, Step&& step) {
  std::vector<at::Tensor> ys;
  for (int64_t t = 0; t < x.size(1); ++t)
    ys.push_back(step(x.select(1, t)));
  return torch::stack(ys, 1);
}

TEST(Mamba, ForwardKeepsShape) {
  Mamba mamba(small_options());
  at::Tensor x = torch::randn({2, 7, 8});
  at::Tensor y = mamba(x);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
}

TEST(Mamba, InitialisationFollowsMamba) {
  MambaOptions o = small_options();
  o.d_model = 40;  // dt_rank auto = ceil(40 / 16) = 3
  Mamba mamba(o);
  EXPECT_EQ(mamba->options().resolved_dt_rank(), 3);
  EXPECT_EQ(mamba->in_proj->weight.sizes(), (std::vector<int64_t>{160, 40}));
  EXPECT_EQ(mamba->x_proj->weight.sizes(), (std::vector<int64_t>{3 + 2 * 4, 80}));
  EXPECT_EQ(mamba->conv_weight.sizes(), (std::vector<int64_t>{80, 3}));
  EXPECT_FALSE(mamba->in_proj->bias.defined());
  at::Tensor expected_a_log = torch::log(torch::arange(1, 5, torch::kFloat)).expand({80, 4});
  EXPECT_TRUE(torch::allclose(mamba->A_log, expected_a_log));
  EXPECT_TRUE(torch::equal(mamba->D, torch::ones({80})));
  at::Tensor dt = torch::softplus(mamba->dt_proj->bias);
  EXPECT_GE(dt.min().item<double>(), o.dt_min * (1 - 1e-5));
  EXPECT_LE(dt.max().item<double>(), o.dt_max * (1 + 1e-5));
  const double bound = std::pow(3.0, -0.5) * o.dt_scale;
  EXPECT_LE(mamba->dt_proj->weight.abs().max().item<double>(), bound);
}

TEST(Mamba, StepMatchesForward) {
  Mamba mamba(small_options());
  mamba->to(torch::kDouble);
  at::Tensor x = torch::randn({3, 9, 8}, torch::kDouble);
  MambaCache cache = mamba->make_cache(3);
  at::Tensor stepped = run_steps(x, [&](const at::Tensor& xt) { return mamba->step(xt, cache); });
  EXPECT_LT(relative_error(stepped, mamba(x)), kRecurrentTol);
}

TEST(Mamba, ChunksAndPrefillThenStepMatchForward) {
  Mamba mamba(small_options());
  mamba->to(torch::kDouble);
  at::Tensor x = torch::randn({2, 10, 8}, torch::kDouble);
  at::Tensor whole = mamba(x);

  MambaCache cache = mamba->make_cache(2);
  at::Tensor first = mamba->forward_chunk(x.narrow(1, 0, 4), cache);
  at::Tensor second = mamba->forward_chunk(x.narrow(1, 4, 3), cache);
  at::Tensor rest =
      run_steps(x.narrow(1, 7, 3), [&](const at::Tensor& xt) { return mamba->step(xt, cache); });
  EXPECT_LT(relative_error(torch::cat({first, second, rest}, 1), whole), kRecurrentTol);
}

// A backward pass gives every parameter and the input a finite, non-zero gradient.
void expect_gradients_everywhere(const MambaOptions& options) {
  Mamba mamba(options);
  at::Tensor x = torch::randn({2, 6, 8}, torch::requires_grad());
  mamba(x).pow(2).mean().backward();
  ssmkit::testing::expect_gradient_in_every_parameter(*mamba);
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
}

TEST(Mamba, GradientsReachEveryParameter) {
  expect_gradients_everywhere(small_options());
}

// Forward and every parameter's and the input's gradient of `mamba` on x, in one layout.
struct LayoutRun {
  at::Tensor y, dx;
  std::vector<at::Tensor> grads;
};
LayoutRun run_in_layout(Mamba& mamba, const at::Tensor& x_values, const at::Tensor& dy, int mode) {
  ssmkit::nn::set_mamba_channel_major(mode);
  mamba->zero_grad();
  const at::Tensor x = x_values.clone().requires_grad_(true);
  LayoutRun r;
  r.y = mamba(x);
  r.y.backward(dy);
  r.dx = x.grad();
  for (const auto& p : mamba->parameters())
    r.grads.push_back(p.grad().clone());
  ssmkit::nn::set_mamba_channel_major(-1);
  return r;
}

// The channel-major projections (the CUDA layout) and the row-major ones (the CPU layout) are the
// same sums in another order: float64 results agree to rounding, for both variants, with biases.
TEST(Mamba, ChannelMajorLayoutMatchesRowMajor) {
  for (const bool m_mamba : {false, true}) {
    SCOPED_TRACE(m_mamba ? "m_mamba" : "mamba");
    MambaOptions o = small_options();
    o.bias = true;
    if (m_mamba) o.variant = ssmkit::nn::MambaVariant::kMMamba;
    Mamba mamba(o);
    mamba->to(torch::kDouble);
    const at::Tensor x = torch::randn({3, 11, 8}, torch::kDouble);
    const at::Tensor dy = torch::randn({3, 11, 8}, torch::kDouble);
    const LayoutRun row = run_in_layout(mamba, x, dy, 0);
    const LayoutRun col = run_in_layout(mamba, x, dy, 1);
    EXPECT_TRUE(col.y.is_contiguous());
    EXPECT_LE(relative_error(col.y, row.y), kRecurrentTol);
    EXPECT_LE(relative_error(col.dx, row.dx), kRecurrentTol);
    ASSERT_EQ(col.grads.size(), row.grads.size());
    for (size_t i = 0; i < col.grads.size(); ++i) {
      EXPECT_LE(relative_error(col.grads[i], row.grads[i]), kRecurrentTol) << "parameter " << i;
    }
  }
}

// Chunked inference in the channel-major layout continues the sequence as forward() computes it.
TEST(Mamba, ChannelMajorChunksMatchForward) {
  Mamba mamba(small_options());
  mamba->to(torch::kDouble);
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::randn({2, 10, 8}, torch::kDouble);
  const at::Tensor whole = mamba(x);
  ssmkit::nn::set_mamba_channel_major(1);
  MambaCache cache = mamba->make_cache(2);
  const at::Tensor chunks = torch::cat({mamba->forward_chunk(x.narrow(1, 0, 4), cache),
                                        mamba->forward_chunk(x.narrow(1, 4, 6), cache)},
                                       1);
  ssmkit::nn::set_mamba_channel_major(-1);
  EXPECT_LE(relative_error(chunks, whole), kRecurrentTol);
}

MambaOptions m_mamba_options() {
  MambaOptions o = small_options();
  o.variant = ssmkit::nn::MambaVariant::kMMamba;
  return o;
}

// CMamba's mixer: no conv parameters, x_proj also yields the per-token D, one shared A row.
TEST(MMamba, ParametersFollowTheOfficialMixer) {
  Mamba mamba(m_mamba_options());
  EXPECT_FALSE(mamba->conv_weight.defined());
  EXPECT_FALSE(mamba->conv_bias.defined());
  EXPECT_FALSE(mamba->D.defined());
  EXPECT_EQ(mamba->x_proj->weight.sizes(), (std::vector<int64_t>{1 + 2 * 4 + 16, 16}));
  EXPECT_TRUE(
      torch::allclose(mamba->A_log, torch::log(torch::arange(1, 5, torch::kFloat)).view({1, 4})));
  for (const auto& p : mamba->named_parameters())
    EXPECT_EQ(p.key().find("conv"), std::string::npos) << p.key();
}

// forward() (selective-scan dispatcher, skip added outside the scan) against step() (plain ops),
// and chunked prefill, in float64.
TEST(MMamba, StepAndChunksMatchForward) {
  Mamba mamba(m_mamba_options());
  mamba->to(torch::kDouble);
  at::Tensor x = torch::randn({3, 9, 8}, torch::kDouble);
  const at::Tensor whole = mamba(x);
  MambaCache cache = mamba->make_cache(3);
  at::Tensor stepped = run_steps(x, [&](const at::Tensor& xt) { return mamba->step(xt, cache); });
  EXPECT_LT(relative_error(stepped, whole), kRecurrentTol);

  MambaCache chunked = mamba->make_cache(3);
  at::Tensor first = mamba->forward_chunk(x.narrow(1, 0, 5), chunked);
  at::Tensor second = mamba->forward_chunk(x.narrow(1, 5, 4), chunked);
  EXPECT_LT(relative_error(torch::cat({first, second}, 1), whole), kRecurrentTol);
}

// The per-token D: y = out_proj((scan(u) + D_t u) silu(z)), checked by zeroing the scan's input
// path (B = 0 through x_proj) so that only the skip remains.
TEST(MMamba, SkipIsThePerTokenProjection) {
  Mamba mamba(m_mamba_options());
  mamba->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    mamba->x_proj->weight.narrow(0, 1, 4).zero_();  // B rows (dt_rank 1 first)
  }
  at::Tensor x = torch::randn({2, 5, 8}, torch::kDouble);
  auto halves = mamba->in_proj(x).chunk(2, -1);  // (B, L, 16) each
  const at::Tensor u = torch::silu(halves[0]);
  const at::Tensor d_t = mamba->x_proj(u).narrow(-1, 1 + 2 * 4, 16);
  const at::Tensor expected = mamba->out_proj(d_t * u * torch::silu(halves[1]));
  EXPECT_LT(relative_error(mamba(x), expected), 1e-12);
}

TEST(MMamba, GradientsReachEveryParameter) {
  expect_gradients_everywhere(m_mamba_options());
}

TEST(MambaLayer, ResidualAndStepMatchForward) {
  MambaLayer layer(small_options());
  layer->to(torch::kDouble);
  at::Tensor x = torch::randn({2, 8, 8}, torch::kDouble);
  at::Tensor y = layer(x);
  EXPECT_LT(relative_error(y, x + layer->mixer(layer->norm(x))), 1e-15);
  MambaCache cache = layer->make_cache(2);
  at::Tensor stepped = run_steps(x, [&](const at::Tensor& xt) { return layer->step(xt, cache); });
  EXPECT_LT(relative_error(stepped, y), kRecurrentTol);
}

TEST(MambaStack, StepMatchesForwardAndFinalNormApplies) {
  MambaStackOptions o;
  o.mamba = small_options();
  o.n_layers = 3;
  MambaStack stack(o);
  stack->to(torch::kDouble);
  ASSERT_EQ(stack->layers.size(), 3u);
  at::Tensor x = torch::randn({2, 6, 8}, torch::kDouble);
  at::Tensor y = stack(x);
  // With the final norm's unit weight, every output row has unit RMS.
  at::Tensor rms = y.pow(2).mean(-1).sqrt();
  EXPECT_LT((rms - 1).abs().max().item<double>(), 1e-4);
  auto caches = stack->make_caches(2);
  at::Tensor stepped = run_steps(x, [&](const at::Tensor& xt) { return stack->step(xt, caches); });
  EXPECT_LT(relative_error(stepped, y), kRecurrentTol);
  auto chunk_caches = stack->make_caches(2);
  at::Tensor chunked = torch::cat({stack->forward_chunk(x.narrow(1, 0, 2), chunk_caches),
                                   stack->forward_chunk(x.narrow(1, 2, 4), chunk_caches)},
                                  1);
  EXPECT_LT(relative_error(chunked, y), kRecurrentTol);
}

std::string input_error_of(const nlohmann::json& j);

TEST(MambaOptionsJson, RoundTripAndDefaults) {
  MambaOptions o = small_options();
  o.expand = 3;
  o.dt_scale = 0.5;
  o.bias = true;
  o.variant = ssmkit::nn::MambaVariant::kMMamba;
  nlohmann::json j = o;
  EXPECT_EQ(j["variant"], "m_mamba");
  MambaOptions back = j.get<MambaOptions>();
  EXPECT_EQ(nlohmann::json(back), j);
  EXPECT_NE(input_error_of({{"d_model", 8}, {"variant", "s4"}}).find("'s4' is not a Mamba variant"),
            std::string::npos);
  MambaOptions minimal = nlohmann::json{{"d_model", 32}}.get<MambaOptions>();
  EXPECT_EQ(minimal.d_model, 32);
  EXPECT_EQ(minimal.d_state, 16);
  EXPECT_EQ(minimal.d_conv, 4);
  EXPECT_EQ(minimal.resolved_dt_rank(), 2);

  MambaStackOptions stack =
      nlohmann::json::parse(R"({"n_layers": 3, "mamba": {"d_model": 16, "d_state": 8}})")
          .get<MambaStackOptions>();
  EXPECT_EQ(stack.n_layers, 3);
  EXPECT_EQ(stack.mamba.d_state, 8);
  EXPECT_EQ(nlohmann::json(stack).get<MambaStackOptions>().mamba.d_model, 16);
}

std::string input_error_of(const nlohmann::json& j) {
  try {
    j.get<MambaOptions>();
  } catch (const ssmkit::InputError& e) {
    return e.what();
  }
  return "";
}

TEST(MambaOptionsJson, BadConfigsNameTheField) {
  EXPECT_NE(input_error_of({{"d_model", 8}, {"d_stat", 4}}).find("unknown field 'd_stat'"),
            std::string::npos);
  EXPECT_NE(input_error_of({{"d_model", "8"}}).find("'d_model' must be an integer, got \"8\""),
            std::string::npos);
  EXPECT_NE(input_error_of({{"d_model", 8}, {"d_state", 0}}).find("'d_state' must be in [1, 256]"),
            std::string::npos);
  EXPECT_NE(input_error_of({{"d_state", 4}}).find("'d_model' must be > 0, got 0"),
            std::string::npos);
  EXPECT_NE(input_error_of({{"d_model", 8}, {"dt_min", 0.5}}).find("'dt_max' must be >= dt_min"),
            std::string::npos);
}

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

TEST(Mamba, BadInputsNameTensorAndShapes) {
  Mamba mamba(small_options());
  std::string msg = error_of([&] { mamba(torch::randn({2, 5, 6})); });
  EXPECT_NE(msg.find("Mamba: 'x' has shape [2, 5, 6], expected (B, L, d_model) = [*, *, 8]"),
            std::string::npos)
      << msg;
  msg = error_of([&] { mamba(torch::randn({2, 5, 8}, torch::kDouble)); });
  EXPECT_NE(msg.find("'x' has dtype Double, expected the parameters' dtype (Float)"),
            std::string::npos)
      << msg;
  MambaCache cache = mamba->make_cache(3);
  msg = error_of([&] { mamba->step(torch::randn({2, 8}), cache); });
  EXPECT_NE(msg.find("Mamba::step: 'cache.conv_state' has shape [3, 16, 3], expected (B, d_inner, "
                     "d_conv) = [2, 16, 3]"),
            std::string::npos)
      << msg;
}

}  // namespace
