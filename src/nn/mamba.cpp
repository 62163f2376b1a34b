// The Mamba block: Mamba's initialisation (S4D-real A, log-uniform dt through an inverse-softplus
// bias), the sequence path through the selective-scan dispatcher, and the recurrent step.
#include "ssmkit/nn/mamba.h"

#include <torch/torch.h>

#include <atomic>
#include <cmath>
#include <string>

#include "ssmkit/io/error.h"
#include "ssmkit/nn/mamba_init_checks.h"
#include "ssmkit/ops/causal_conv1d.h"
#include "ssmkit/ops/selective_scan.h"
#include "ssmkit/util/checks.h"
#include "ssmkit/util/json_fields.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::nn {
namespace {

// dt_rank = ceil(d_model / 16) when left at 0, as in Mamba.
constexpr int64_t kDtRankDivisor = 16;

// The scan takes A, D and delta_bias in float32 or float64 whatever the activations' dtype.
at::ScalarType scan_weight_type(const at::Tensor& param) {
  return param.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// -1: channel-major projections on CUDA only; 0 / 1: never / always (tests).
std::atomic<int> g_channel_major{-1};

// weight @ input for every batch row: (O, I) x (B, I, L) -> (B, O, L) contiguous, as one
// strided-batched GEMM that reads `input` where it lies (either of its last two strides 1). The
// weight is cast once, before it is broadcast over the batch.
at::Tensor batched_project(const at::Tensor& weight,   // (O, I)
                           const at::Tensor& input) {  // (B, I, L) -> (B, O, L)
  const at::Tensor w = weight.to(input.scalar_type());
  return at::bmm(w.unsqueeze(0).expand({input.size(0), w.size(0), w.size(1)}), input);
}

}  // namespace

void set_mamba_channel_major(int mode) {
  g_channel_major.store(mode < 0 ? -1 : (mode > 0 ? 1 : 0), std::memory_order_relaxed);
}

int64_t MambaOptions::resolved_dt_rank() const {
  return dt_rank > 0 ? dt_rank : (d_model + kDtRankDivisor - 1) / kDtRankDivisor;
}

void MambaOptions::validate() const {
  if (d_model <= 0) invalid_option("Mamba", "d_model", "> 0", std::to_string(d_model));
  if (d_state < 1 || d_state > ops::kMaxScanStateDim) {
    invalid_option("Mamba", "d_state", "in [1, " + std::to_string(ops::kMaxScanStateDim) + "]",
                   std::to_string(d_state));
  }
  if (d_conv < 1) invalid_option("Mamba", "d_conv", ">= 1", std::to_string(d_conv));
  if (expand < 1) invalid_option("Mamba", "expand", ">= 1", std::to_string(expand));
  if (dt_rank < 0) invalid_option("Mamba", "dt_rank", ">= 0 (0 = auto)", std::to_string(dt_rank));
  if (!(dt_min > 0.0)) invalid_option("Mamba", "dt_min", "> 0", std::to_string(dt_min));
  if (!(dt_max >= dt_min)) invalid_option("Mamba", "dt_max", ">= dt_min", std::to_string(dt_max));
  if (!(dt_init_floor >= 0.0))
    invalid_option("Mamba", "dt_init_floor", ">= 0", std::to_string(dt_init_floor));
  if (!(dt_scale > 0.0)) invalid_option("Mamba", "dt_scale", "> 0", std::to_string(dt_scale));
}

std::string variant_name(MambaVariant variant) {
  return variant == MambaVariant::kMMamba ? "m_mamba" : "mamba";
}

MambaVariant parse_variant(const std::string& name, const std::string& where) {
  if (name == "mamba") return MambaVariant::kMamba;
  if (name == "m_mamba") return MambaVariant::kMMamba;
  throw InputError(where + ": '" + name + "' is not a Mamba variant, expected mamba or m_mamba");
}

void to_json(nlohmann::json& j, const MambaOptions& o) {
  j = nlohmann::json{{"variant", variant_name(o.variant)},
                     {"d_model", o.d_model},
                     {"d_state", o.d_state},
                     {"d_conv", o.d_conv},
                     {"expand", o.expand},
                     {"dt_rank", o.dt_rank},
                     {"dt_min", o.dt_min},
                     {"dt_max", o.dt_max},
                     {"dt_init_floor", o.dt_init_floor},
                     {"dt_scale", o.dt_scale},
                     {"bias", o.bias},
                     {"conv_bias", o.conv_bias}};
}

void from_json(const nlohmann::json& j, MambaOptions& o) {
  JsonFieldReader reader(j, "Mamba config");
  std::string variant = variant_name(o.variant);
  reader.read("variant", variant);
  o.variant = parse_variant(variant, "Mamba config: 'variant'");
  reader.read("d_model", o.d_model);
  reader.read("d_state", o.d_state);
  reader.read("d_conv", o.d_conv);
  reader.read("expand", o.expand);
  reader.read("dt_rank", o.dt_rank);
  reader.read("dt_min", o.dt_min);
  reader.read("dt_max", o.dt_max);
  reader.read("dt_init_floor", o.dt_init_floor);
  reader.read("dt_scale", o.dt_scale);
  reader.read("bias", o.bias);
  reader.read("conv_bias", o.conv_bias);
  reader.finish();
  o.validate();
}

MambaImpl::MambaImpl(const MambaOptions& options) : options_(options) {
  options_.validate();
  dt_rank_ = options_.resolved_dt_rank();
  const int64_t d_model = options_.d_model;
  const int64_t d_inner = options_.d_inner();
  const int64_t d_state = options_.d_state;

  in_proj = register_module(
      "in_proj",
      torch::nn::Linear(torch::nn::LinearOptions(d_model, 2 * d_inner).bias(options_.bias)));
  const bool m_mamba = options_.variant == MambaVariant::kMMamba;
  if (!m_mamba) {
    DepthwiseConvInit conv = init_depthwise_conv(d_inner, options_.d_conv, options_.conv_bias);
    conv_weight = register_parameter("conv_weight", conv.weight);
    if (options_.conv_bias) conv_bias = register_parameter("conv_bias", conv.bias);
  }
  const int64_t projected = dt_rank_ + 2 * d_state + (m_mamba ? d_inner : 0);
  x_proj = register_module(
      "x_proj", torch::nn::Linear(torch::nn::LinearOptions(d_inner, projected).bias(false)));
  dt_proj = register_module(
      "dt_proj", torch::nn::Linear(torch::nn::LinearOptions(dt_rank_, d_inner).bias(true)));
  {
    // Mamba's dt init: the weight is small so dt starts near softplus(bias), and the bias is the
    // inverse softplus of a dt drawn log-uniformly in [dt_min, dt_max].
    torch::NoGradGuard no_grad;
    const double weight_bound = std::pow(static_cast<double>(dt_rank_), -0.5) * options_.dt_scale;
    dt_proj->weight.uniform_(-weight_bound, weight_bound);
    dt_proj->bias.copy_(
        init_dt_bias(d_inner, options_.dt_min, options_.dt_max, options_.dt_init_floor));
  }
  // S4D-real: A[:, n] = -(n + 1) for every channel (m_mamba: one row, shared by the channels).
  A_log = register_parameter("A_log", torch::log(torch::arange(1, d_state + 1, torch::kFloat))
                                          .repeat({m_mamba ? 1 : d_inner, 1})
                                          .contiguous());
  if (!m_mamba) D = register_parameter("D", torch::ones({d_inner}));
  out_proj = register_module(
      "out_proj",
      torch::nn::Linear(torch::nn::LinearOptions(d_inner, d_model).bias(options_.bias)));
}

std::vector<int64_t> MambaImpl::projection_sizes() const {
  const int64_t n = options_.d_state;
  if (options_.variant == MambaVariant::kMMamba) return {dt_rank_, n, n, options_.d_inner()};
  return {dt_rank_, n, n};
}

at::Tensor MambaImpl::scan_A(at::ScalarType dtype) const {
  // m_mamba's single row is expanded to every channel; its gradient sums over them.
  return (-torch::exp(A_log.to(dtype))).expand({options_.d_inner(), options_.d_state}).contiguous();
}

void MambaImpl::check_input(const at::Tensor& x, int64_t rank, const char* fn) const {
  check_block_input(x, rank, options_.d_model, in_proj->weight, fn);
}

void MambaImpl::check_cache(const MambaCache& cache, int64_t batch, const char* fn) const {
  const int64_t d_inner = options_.d_inner();
  check_shape(cache.conv_state, fn, "cache.conv_state", "(B, d_inner, d_conv)",
              {batch, d_inner, options_.d_conv});
  check_shape(cache.ssm_state, fn, "cache.ssm_state", "(B, d_inner, d_state)",
              {batch, d_inner, options_.d_state});
  check_cache_placement(cache.conv_state, cache.ssm_state, in_proj->weight, fn);
}

MambaCache MambaImpl::make_cache(int64_t batch) const {
  TORCH_CHECK(batch >= 1, "Mamba::make_cache: batch must be >= 1, got ", batch);
  const auto params = in_proj->weight.options();
  MambaCache cache;
  cache.conv_state = torch::zeros({batch, options_.d_inner(), options_.d_conv}, params);
  cache.ssm_state = torch::zeros({batch, options_.d_inner(), options_.d_state},
                                 params.dtype(scan_weight_type(A_log)));
  return cache;
}

at::Tensor MambaImpl::forward(const at::Tensor& x) {
  return run(x, nullptr, "Mamba");
}

at::Tensor MambaImpl::forward_chunk(const at::Tensor& x, MambaCache& cache) {
  return run(x, &cache, "Mamba::forward_chunk");
}

at::Tensor MambaImpl::run(const at::Tensor& x, MambaCache* cache, const char* fn) {
  check_input(x, 3, fn);
  if (cache != nullptr) check_cache(*cache, x.size(0), fn);
  const int mode = g_channel_major.load(std::memory_order_relaxed);
  const bool channel_major = mode < 0 ? x.is_cuda() : mode == 1;

  // Two layouts of the same arithmetic. Row-major: the projections take contiguous (B, L, *)
  // inputs, as LibTorch multiplies a transposed 3-D input by looping over the batch (bmm), which
  // dominated CPU training steps of short sequences; the scan's (B, *, L) operands are then
  // transposed copies. Channel-major (CUDA): every projection is one GEMM whose output is already
  // laid out with time contiguous, so the scan and the conv read them in place; those copies and
  // their gradients' copies were 42% of a bf16 block's GPU time.
  const at::Tensor xz = channel_major ? project_in_channel_major(x)  // (B, 2 * d_inner, L)
                                      : in_proj(x).transpose(1, 2);
  auto halves = xz.chunk(2, 1);
  at::Tensor z = channel_major ? halves[1] : halves[1].contiguous();  // (B, d_inner, L)
  const bool m_mamba = options_.variant == MambaVariant::kMMamba;
  at::Tensor u;  // (B, d_inner, L)
  if (m_mamba) {
    u = torch::silu(halves[0]).contiguous();
  } else if (cache != nullptr) {
    u = ops::causal_conv1d_chunk(halves[0], cache->conv_state, conv_weight, conv_bias,
                                 ops::ConvActivation::kSilu);
  } else {
    u = ops::causal_conv1d(halves[0], conv_weight, conv_bias, ops::ConvActivation::kSilu);
  }

  // x_proj's outputs as (B, width, L): dt (low rank), B, C (and m_mamba's per-token D).
  std::vector<at::Tensor> parts;
  at::Tensor delta;  // (B, d_inner, L)
  if (channel_major) {
    parts = batched_project(x_proj->weight, u).split_with_sizes(projection_sizes(), 1);
    delta = batched_project(dt_proj->weight, parts[0]);
  } else {
    at::Tensor x_dbl = x_proj(u.transpose(1, 2).contiguous());  // (B, L, dt_rank + 2N [+ d_inner])
    parts = x_dbl.split_with_sizes(projection_sizes(), -1);
    // dt_proj's bias enters the scan as delta_bias, inside the softplus.
    delta = torch::matmul(parts[0].contiguous(), dt_proj->weight.t()).transpose(1, 2).contiguous();
    for (size_t i = 1; i < parts.size(); ++i)
      parts[i] = parts[i].transpose(1, 2);
    parts[1] = parts[1].contiguous();
    parts[2] = parts[2].contiguous();
  }

  const auto weight_type = scan_weight_type(A_log);
  ops::SelectiveScanInputs in;
  in.u = u;
  in.delta = delta;                               // (B, d_inner, L)
  in.A = scan_A(weight_type);                     // (d_inner, N)
  in.B = parts[1];                                // (B, N, L)
  in.C = parts[2];                                // (B, N, L)
  if (!m_mamba) in.D = D.to(weight_type);         // (d_inner)
  in.z = z;                                       // (B, d_inner, L)
  in.delta_bias = dt_proj->bias.to(weight_type);  // (d_inner)
  if (cache != nullptr) in.initial_state = cache->ssm_state;
  ops::SelectiveScanOptions scan_options;
  scan_options.delta_softplus = true;
  scan_options.return_last_state = cache != nullptr;
  ops::SelectiveScanOutputs scanned = ops::selective_scan(in, scan_options);
  if (cache != nullptr) cache->ssm_state = scanned.last_state;

  at::Tensor gated = scanned.y;  // (B, d_inner, L)
  if (m_mamba) {
    // The per-token skip D_t u, gated like the scan's output: (scan + D_t u) silu(z).
    const at::Tensor& d_t = parts[3];  // (B, d_inner, L)
    gated = gated + (d_t * u * torch::silu(z)).to(gated.scalar_type());
  }
  at::Tensor y = channel_major ? project_out_channel_major(gated)  // (B, L, d_model)
                               : out_proj(gated.transpose(1, 2).contiguous());
  trace_shapes(fn, x, y);
  return y;
}

at::Tensor MambaImpl::project_in_channel_major(const at::Tensor& x) const {
  const int64_t batch = x.size(0), length = x.size(1);
  // (2 d_inner, d_model) x (d_model, B L): the transposed operand is read in place.
  at::Tensor xz = torch::matmul(in_proj->weight, x.reshape({batch * length, -1}).t());
  if (in_proj->bias.defined()) xz = xz + in_proj->bias.unsqueeze(1).to(xz.scalar_type());
  // (2 d_inner, B, L) memory seen as (B, 2 d_inner, L): time contiguous, as the scan reads it.
  return xz.view({-1, batch, length}).permute({1, 0, 2});
}

at::Tensor MambaImpl::project_out_channel_major(const at::Tensor& gated) const {
  const at::Tensor w = out_proj->weight.to(gated.scalar_type());  // (d_model, d_inner)
  // (B, L, d_inner) x (d_inner, d_model) per batch row; both operands read transposed in place.
  at::Tensor y = at::bmm(gated.transpose(1, 2),
                         w.t().unsqueeze(0).expand({gated.size(0), w.size(1), w.size(0)}));
  if (out_proj->bias.defined()) y = y + out_proj->bias.to(y.scalar_type());
  return y;
}

at::Tensor MambaImpl::step(const at::Tensor& x, MambaCache& cache) {
  constexpr const char* fn = "Mamba::step";
  check_input(x, 2, fn);
  check_cache(cache, x.size(0), fn);

  const bool m_mamba = options_.variant == MambaVariant::kMMamba;
  auto halves = in_proj(x).chunk(2, -1);  // 2 x (B, d_inner)
  at::Tensor u = m_mamba ? torch::silu(halves[0])
                         : ops::causal_conv1d_update(halves[0], cache.conv_state, conv_weight,
                                                     conv_bias, ops::ConvActivation::kSilu);
  auto parts = x_proj(u).split_with_sizes(projection_sizes(), -1);

  // The scan's recurrence for one step, in the state's precision.
  const auto state_type = cache.ssm_state.scalar_type();
  at::Tensor dt = torch::softplus(torch::matmul(parts[0], dt_proj->weight.t()).to(state_type) +
                                  dt_proj->bias.to(state_type))
                      .unsqueeze(-1);                     // (B, d_inner, 1)
  at::Tensor A = scan_A(state_type);                      // (d_inner, N)
  at::Tensor B_t = parts[1].to(state_type).unsqueeze(1);  // (B, 1, N)
  at::Tensor C_t = parts[2].to(state_type).unsqueeze(1);  // (B, 1, N)
  at::Tensor u_s = u.to(state_type);                      // (B, d_inner)
  cache.ssm_state = torch::exp(dt * A) * cache.ssm_state + dt * B_t * u_s.unsqueeze(-1);
  const at::Tensor skip = m_mamba ? parts[3].to(state_type) : D.to(state_type);
  at::Tensor y = (cache.ssm_state * C_t).sum(-1) + skip * u_s;  // (B, d_inner)
  y = (y * torch::silu(halves[1].to(state_type))).to(x.scalar_type());

  at::Tensor out = out_proj(y);  // (B, d_model)
  trace_shapes(fn, x, out);
  return out;
}

}  // namespace ssmkit::nn
