// The Mamba-2 block: mamba_ssm's initialisation (A from [1, 16], log-uniform dt through an inverse-
// softplus bias), the sequence path through the chunked SSD scan, and the recurrent step.
#include "ssmkit/nn/mamba2.h"

#include <torch/torch.h>

#include <string>
#include <vector>

#include "ssmkit/io/error.h"
#include "ssmkit/nn/mamba_init_checks.h"
#include "ssmkit/nn/rms_norm.h"
#include "ssmkit/ops/causal_conv1d.h"
#include "ssmkit/ops/ssd_scan.h"
#include "ssmkit/util/checks.h"
#include "ssmkit/util/json_fields.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::nn {
namespace {

// Mamba-2 draws each head's decay rate -A uniformly from this range.
constexpr double kAInitMin = 1.0;
constexpr double kAInitMax = 16.0;

// mamba_ssm's RMSNormGated with norm_before_gate = false: the gate multiplies first, then each of
// `groups` channel groups is normalised on its own (with one group, RMSNorm of y silu(z)).
at::Tensor gated_rms_norm(const at::Tensor& y,       // (..., d_inner)
                          const at::Tensor& z,       // (..., d_inner)
                          const at::Tensor& weight,  // (d_inner)
                          int64_t groups) {          // -> (..., d_inner), dtype of y
  const at::Tensor gated = y * torch::silu(z.to(y.scalar_type()));
  std::vector<int64_t> grouped_sizes = gated.sizes().vec();
  grouped_sizes.back() /= groups;
  grouped_sizes.insert(grouped_sizes.end() - 1, groups);
  const at::Tensor grouped = gated.reshape(grouped_sizes);  // (..., G, d_inner / G)
  const at::Tensor normed =
      grouped * torch::rsqrt(grouped.pow(2).mean(-1, /*keepdim=*/true) + kDefaultRmsNormEps);
  return normed.reshape(gated.sizes()) * weight.to(y.scalar_type());
}

}  // namespace

void Mamba2Options::validate() const {
  if (d_model <= 0) invalid_option("Mamba2", "d_model", "> 0", std::to_string(d_model));
  if (d_state < 1) invalid_option("Mamba2", "d_state", ">= 1", std::to_string(d_state));
  if (d_conv < 1) invalid_option("Mamba2", "d_conv", ">= 1", std::to_string(d_conv));
  if (expand < 1) invalid_option("Mamba2", "expand", ">= 1", std::to_string(expand));
  if (headdim < 1 || d_inner() % headdim != 0) {
    invalid_option("Mamba2", "headdim",
                   "a divisor of d_inner = expand * d_model = " + std::to_string(d_inner()),
                   std::to_string(headdim));
  }
  if (ngroups < 1 || nheads() % ngroups != 0) {
    invalid_option("Mamba2", "ngroups",
                   "a divisor of nheads = d_inner / headdim = " + std::to_string(nheads()),
                   std::to_string(ngroups));
  }
  if (chunk_size < 1) invalid_option("Mamba2", "chunk_size", ">= 1", std::to_string(chunk_size));
  if (!(dt_min > 0.0)) invalid_option("Mamba2", "dt_min", "> 0", std::to_string(dt_min));
  if (!(dt_max >= dt_min)) invalid_option("Mamba2", "dt_max", ">= dt_min", std::to_string(dt_max));
  if (!(dt_init_floor >= 0.0))
    invalid_option("Mamba2", "dt_init_floor", ">= 0", std::to_string(dt_init_floor));
}

void to_json(nlohmann::json& j, const Mamba2Options& o) {
  j = nlohmann::json{{"d_model", o.d_model},
                     {"d_state", o.d_state},
                     {"d_conv", o.d_conv},
                     {"expand", o.expand},
                     {"headdim", o.headdim},
                     {"ngroups", o.ngroups},
                     {"chunk_size", o.chunk_size},
                     {"dt_min", o.dt_min},
                     {"dt_max", o.dt_max},
                     {"dt_init_floor", o.dt_init_floor},
                     {"bias", o.bias},
                     {"conv_bias", o.conv_bias}};
}

void from_json(const nlohmann::json& j, Mamba2Options& o) {
  JsonFieldReader reader(j, "Mamba2 config");
  reader.read("d_model", o.d_model);
  reader.read("d_state", o.d_state);
  reader.read("d_conv", o.d_conv);
  reader.read("expand", o.expand);
  reader.read("headdim", o.headdim);
  reader.read("ngroups", o.ngroups);
  reader.read("chunk_size", o.chunk_size);
  reader.read("dt_min", o.dt_min);
  reader.read("dt_max", o.dt_max);
  reader.read("dt_init_floor", o.dt_init_floor);
  reader.read("bias", o.bias);
  reader.read("conv_bias", o.conv_bias);
  reader.finish();
  o.validate();
}

Mamba2Impl::Mamba2Impl(const Mamba2Options& options) : options_(options) {
  options_.validate();
  const int64_t d_inner = options_.d_inner();
  const int64_t heads = options_.nheads();
  const int64_t conv_dim = options_.conv_dim();

  in_proj = register_module(
      "in_proj",
      torch::nn::Linear(
          torch::nn::LinearOptions(options_.d_model, options_.d_in_proj()).bias(options_.bias)));
  DepthwiseConvInit conv = init_depthwise_conv(conv_dim, options_.d_conv, options_.conv_bias);
  conv_weight = register_parameter("conv_weight", conv.weight);
  if (options_.conv_bias) conv_bias = register_parameter("conv_bias", conv.bias);
  // One dt per head, starting log-uniform in [dt_min, dt_max].
  dt_bias = register_parameter(
      "dt_bias", init_dt_bias(heads, options_.dt_min, options_.dt_max, options_.dt_init_floor));
  A_log =
      register_parameter("A_log", torch::log(torch::empty({heads}).uniform_(kAInitMin, kAInitMax)));
  D = register_parameter("D", torch::ones({heads}));
  norm_weight = register_parameter("norm_weight", torch::ones({d_inner}));
  out_proj = register_module(
      "out_proj",
      torch::nn::Linear(torch::nn::LinearOptions(d_inner, options_.d_model).bias(options_.bias)));
}

at::ScalarType Mamba2Impl::scan_type() const {
  return A_log.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

void Mamba2Impl::check_input(const at::Tensor& x, int64_t rank, const char* fn) const {
  check_block_input(x, rank, options_.d_model, in_proj->weight, fn);
}

void Mamba2Impl::check_cache(const Mamba2Cache& cache, int64_t batch, const char* fn) const {
  check_shape(cache.conv_state, fn, "cache.conv_state", "(B, conv_dim, d_conv)",
              {batch, options_.conv_dim(), options_.d_conv});
  check_shape(cache.ssm_state, fn, "cache.ssm_state", "(B, H, P, N)",
              {batch, options_.nheads(), options_.headdim, options_.d_state});
  check_cache_placement(cache.conv_state, cache.ssm_state, in_proj->weight, fn);
}

Mamba2Cache Mamba2Impl::make_cache(int64_t batch) const {
  TORCH_CHECK(batch >= 1, "Mamba2::make_cache: batch must be >= 1, got ", batch);
  const auto params = in_proj->weight.options();
  Mamba2Cache cache;
  cache.conv_state = torch::zeros({batch, options_.conv_dim(), options_.d_conv}, params);
  cache.ssm_state = torch::zeros({batch, options_.nheads(), options_.headdim, options_.d_state},
                                 params.dtype(scan_type()));
  return cache;
}

Mamba2Impl::ScanInputs Mamba2Impl::scan_inputs(const at::Tensor& xbc, const at::Tensor& dt_raw,
                                               at::ScalarType scan_type) const {
  const int64_t batch = xbc.size(0), length = xbc.size(1);
  const int64_t groups = options_.ngroups, d_state = options_.d_state;
  auto parts = xbc.split_with_sizes({options_.d_inner(), groups * d_state, groups * d_state}, -1);
  ScanInputs in;
  in.x = parts[0].reshape({batch, length, options_.nheads(), options_.headdim});
  in.B = parts[1].reshape({batch, length, groups, d_state});
  in.C = parts[2].reshape({batch, length, groups, d_state});
  in.dt = torch::softplus(dt_raw.to(scan_type) + dt_bias.to(scan_type));
  in.A = -torch::exp(A_log.to(scan_type));
  return in;
}

at::Tensor Mamba2Impl::finish(const at::Tensor& y, const ScanInputs& in, const at::Tensor& z,
                              at::ScalarType out_type) {
  const auto type = in.dt.scalar_type();  // the scan's precision
  const at::Tensor skipped =              // (B, L, H, P)
      y.to(type) + in.x.to(type) * D.to(type).unsqueeze(-1);
  const at::Tensor normed =  // (B, L, d_inner)
      gated_rms_norm(skipped.flatten(2), z, norm_weight, options_.ngroups);
  return out_proj(normed.to(out_type));
}

at::Tensor Mamba2Impl::forward(const at::Tensor& x) {
  return run(x, nullptr, "Mamba2");
}

at::Tensor Mamba2Impl::forward_chunk(const at::Tensor& x, Mamba2Cache& cache) {
  return run(x, &cache, "Mamba2::forward_chunk");
}

at::Tensor Mamba2Impl::run(const at::Tensor& x, Mamba2Cache* cache, const char* fn) {
  check_input(x, 3, fn);
  if (cache != nullptr) check_cache(*cache, x.size(0), fn);
  const at::Tensor zxbcdt = in_proj(x);  // (B, L, d_in_proj)
  auto parts = zxbcdt.split_with_sizes({options_.d_inner(), options_.conv_dim(), options_.nheads()},
                                       -1);  // z, xBC, dt
  // The conv op takes (B, channels, L): a transposed view, not a copy (the op reads any strides).
  const at::Tensor xbc_t = parts[1].transpose(1, 2);  // (B, conv_dim, L)
  const at::Tensor conv =                             // (B, conv_dim, L)
      cache != nullptr
          ? ops::causal_conv1d_chunk(xbc_t, cache->conv_state, conv_weight, conv_bias,
                                     ops::ConvActivation::kSilu)
          : ops::causal_conv1d(xbc_t, conv_weight, conv_bias, ops::ConvActivation::kSilu);
  const ScanInputs in = scan_inputs(conv.transpose(1, 2), parts[2], scan_type());
  const at::Tensor initial_state = cache != nullptr ? cache->ssm_state : at::Tensor();
  ops::SsdScanOutputs scanned =
      ops::ssd_chunk_scan(in.x, in.dt, in.A, in.B, in.C, options_.chunk_size, initial_state);
  if (cache != nullptr) cache->ssm_state = scanned.final_state;
  at::Tensor y = finish(scanned.y, in, parts[0], x.scalar_type());  // (B, L, d_model)
  trace_shapes(fn, x, y);
  return y;
}

at::Tensor Mamba2Impl::step(const at::Tensor& x, Mamba2Cache& cache) {
  constexpr const char* fn = "Mamba2::step";
  check_input(x, 2, fn);
  check_cache(cache, x.size(0), fn);
  auto parts = in_proj(x).split_with_sizes(
      {options_.d_inner(), options_.conv_dim(), options_.nheads()}, -1);  // z, xBC, dt: (B, *)
  const at::Tensor conv = ops::causal_conv1d_update(parts[1], cache.conv_state, conv_weight,
                                                    conv_bias, ops::ConvActivation::kSilu);
  // One token is a sequence of length 1: the same helpers, and the scan's recurrence for one step.
  const ScanInputs in =
      scan_inputs(conv.unsqueeze(1), parts[2].unsqueeze(1), cache.ssm_state.scalar_type());
  ops::SsdScanOutputs scanned =
      ops::ssd_scan_reference(in.x, in.dt, in.A, in.B, in.C, cache.ssm_state);
  cache.ssm_state = scanned.final_state;
  at::Tensor y = finish(scanned.y, in, parts[0].unsqueeze(1), x.scalar_type()).squeeze(1);
  trace_shapes(fn, x, y);
  return y;
}

}  // namespace ssmkit::nn
