// The Mamba block (Gu & Dao 2023): in_proj -> depthwise causal conv -> SiLU -> input-dependent
// (dt, B, C) -> selective scan -> gate by SiLU(z) -> out_proj. The "m_mamba" variant is CMamba's
// mixer (Zeng et al. 2024): no conv (SiLU straight after in_proj), the skip weight D projected from
// the input per token like dt, B and C, and one A (N) shared by every channel. Whole sequences go
// through the selective-scan dispatcher (CUDA kernel / fast CPU path); step() is the recurrent form
// for generation, in plain ops, and matches forward() to rounding.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ssmkit::nn {

enum class MambaVariant { kMamba, kMMamba };

struct MambaOptions {
  MambaVariant variant = MambaVariant::kMamba;  // JSON "variant": "mamba" | "m_mamba"
  int64_t d_model = 0;                          // model width (required)
  int64_t d_state = 16;                         // N, SSM state size per channel
  int64_t d_conv = 4;     // taps of the causal conv (m_mamba: unused, no conv)
  int64_t expand = 2;     // d_inner = expand * d_model
  int64_t dt_rank = 0;    // rank of the dt projection; 0 = ceil(d_model / 16)
  double dt_min = 0.001;  // dt at init is log-uniform in [dt_min, dt_max]
  double dt_max = 0.1;
  double dt_init_floor = 1e-4;  // lower clamp of the initial dt
  double dt_scale = 1.0;        // scales the dt_proj weight init range
  bool bias = false;            // biases of in_proj and out_proj
  bool conv_bias = true;        // bias of the causal conv

  int64_t d_inner() const { return expand * d_model; }
  int64_t resolved_dt_rank() const;
  // Throws InputError naming the first invalid field.
  void validate() const;
};

std::string variant_name(MambaVariant variant);  // "mamba" | "m_mamba"
// Throws InputError naming `where` for an unknown name.
MambaVariant parse_variant(const std::string& name, const std::string& where);

// JSON form, e.g. {"d_model": 64, "d_state": 16}. Missing fields keep their defaults; unknown
// fields and wrong types throw InputError naming the field.
void to_json(nlohmann::json& j, const MambaOptions& options);
void from_json(const nlohmann::json& j, MambaOptions& options);

// Recurrent state of one Mamba block for step() and forward_chunk().
struct MambaCache {
  at::Tensor conv_state;  // (B, d_inner, d_conv) last d_conv conv inputs, oldest first
  at::Tensor ssm_state;   // (B, d_inner, d_state) scan state (float32, float64 for a float64 block)
};

class MambaImpl : public torch::nn::Module {
 public:
  explicit MambaImpl(const MambaOptions& options);

  at::Tensor forward(const at::Tensor& x);  // (B, L, d_model) -> (B, L, d_model)

  // Continues a sequence from `cache` (zeros at its start) and advances the cache past x: running
  // a sequence in chunks equals forward() on the whole; use it to prefill before step().
  at::Tensor forward_chunk(const at::Tensor& x,  // (B, L, d_model)
                           MambaCache& cache);   // -> (B, L, d_model)

  // One token of recurrent inference; advances the cache.
  at::Tensor step(const at::Tensor& x,  // (B, d_model)
                  MambaCache& cache);   // -> (B, d_model)

  // A zero cache (start of a sequence) on the device and in the dtype of the parameters.
  MambaCache make_cache(int64_t batch) const;

  const MambaOptions& options() const { return options_; }

  torch::nn::Linear in_proj{nullptr};   // d_model -> 2 * d_inner (x and gate z)
  at::Tensor conv_weight;               // (d_inner, d_conv); undefined for m_mamba
  at::Tensor conv_bias;                 // (d_inner), undefined without conv_bias or for m_mamba
  torch::nn::Linear x_proj{nullptr};    // d_inner -> dt_rank + 2 * d_state (dt, B, C)
                                        //   (m_mamba: + d_inner, the per-token D)
  torch::nn::Linear dt_proj{nullptr};   // dt_rank -> d_inner; its bias is the scan's delta_bias
  at::Tensor A_log;                     // (d_inner, d_state), A = -exp(A_log); m_mamba (1, d_state)
  at::Tensor D;                         // (d_inner) skip connection; undefined for m_mamba
  torch::nn::Linear out_proj{nullptr};  // d_inner -> d_model

 private:
  at::Tensor run(const at::Tensor& x, MambaCache* cache, const char* fn);
  // in_proj into (2 d_inner, B, L) memory, returned as its (B, 2 d_inner, L) view.
  at::Tensor project_in_channel_major(const at::Tensor& x) const;  // (B, L, d_model)
  // out_proj of the gated scan output, (B, d_inner, L) -> (B, L, d_model) contiguous.
  at::Tensor project_out_channel_major(const at::Tensor& gated) const;
  void check_input(const at::Tensor& x, int64_t rank, const char* fn) const;
  void check_cache(const MambaCache& cache, int64_t batch, const char* fn) const;
  // Widths of x_proj's outputs: dt, B, C (and m_mamba's D).
  std::vector<int64_t> projection_sizes() const;
  // A = -exp(A_log) for every channel: (d_inner, N) in `dtype`.
  at::Tensor scan_A(at::ScalarType dtype) const;

  MambaOptions options_;
  int64_t dt_rank_;
};
TORCH_MODULE(Mamba);

// Layout of the block's projections: -1 (default) channel-major on CUDA, row-major elsewhere;
// 1 / 0 force one layout everywhere (tests compare the two; the results are the same sums).
void set_mamba_channel_major(int mode);

}  // namespace ssmkit::nn
