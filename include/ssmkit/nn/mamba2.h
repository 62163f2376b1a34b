// The Mamba-2 block (Dao & Gu 2024), as mamba_ssm's Mamba2: in_proj -> (z, xBC, dt); depthwise
// causal conv + SiLU over xBC -> (x, B, C) with B and C shared by the heads of each of `ngroups`
// groups; the SSD scan with one scalar decay per head; D skip; gated RMSNorm; out_proj. forward()
// runs the chunked matrix form of the scan; step() is the recurrent form for generation.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <nlohmann/json.hpp>

#include <cstdint>

namespace ssmkit::nn {

struct Mamba2Options {
  int64_t d_model = 0;      // model width (required)
  int64_t d_state = 64;     // N, state size per head and head channel
  int64_t d_conv = 4;       // taps of the causal conv
  int64_t expand = 2;       // d_inner = expand * d_model
  int64_t headdim = 64;     // P, channels per head; nheads = d_inner / headdim
  int64_t ngroups = 1;      // G, groups of heads sharing B and C (and a norm group)
  int64_t chunk_size = 64;  // tokens per chunk of the chunked scan
  double dt_min = 0.001;    // dt at init is log-uniform in [dt_min, dt_max] per head
  double dt_max = 0.1;
  double dt_init_floor = 1e-4;  // lower clamp of the initial dt
  bool bias = false;            // biases of in_proj and out_proj
  bool conv_bias = true;        // bias of the causal conv

  int64_t d_inner() const { return expand * d_model; }
  int64_t nheads() const { return d_inner() / headdim; }
  // Channels of the conv: x, B and C.
  int64_t conv_dim() const { return d_inner() + 2 * ngroups * d_state; }
  // Width of in_proj's output: z, xBC, dt.
  int64_t d_in_proj() const { return d_inner() + conv_dim() + nheads(); }
  // Throws InputError naming the first invalid field.
  void validate() const;
};

// JSON form, e.g. {"d_model": 256, "headdim": 64}. Missing fields keep their defaults; unknown
// fields and wrong types throw InputError naming the field.
void to_json(nlohmann::json& j, const Mamba2Options& options);
void from_json(const nlohmann::json& j, Mamba2Options& options);

// Recurrent state of one Mamba-2 block for step() and forward_chunk().
struct Mamba2Cache {
  at::Tensor conv_state;  // (B, conv_dim, d_conv) last d_conv conv inputs (x, B, C), oldest first
  at::Tensor ssm_state;   // (B, H, P, N) scan state (float32, float64 for a float64 block)
};

class Mamba2Impl : public torch::nn::Module {
 public:
  explicit Mamba2Impl(const Mamba2Options& options);

  at::Tensor forward(const at::Tensor& x);  // (B, L, d_model) -> (B, L, d_model)

  // Continues a sequence from `cache` (zeros at its start) and advances the cache past x: running
  // a sequence in chunks equals forward() on the whole; use it to prefill before step().
  at::Tensor forward_chunk(const at::Tensor& x,  // (B, L, d_model)
                           Mamba2Cache& cache);  // -> (B, L, d_model)

  // One token of recurrent inference (the scan's sequential form); advances the cache.
  at::Tensor step(const at::Tensor& x,  // (B, d_model)
                  Mamba2Cache& cache);  // -> (B, d_model)

  // A zero cache (start of a sequence) on the device and in the dtype of the parameters.
  Mamba2Cache make_cache(int64_t batch) const;

  const Mamba2Options& options() const { return options_; }

  torch::nn::Linear in_proj{nullptr};   // d_model -> d_in_proj: z (d_inner), xBC (conv_dim), dt (H)
  at::Tensor conv_weight;               // (conv_dim, d_conv) depthwise taps
  at::Tensor conv_bias;                 // (conv_dim), undefined without conv_bias
  at::Tensor dt_bias;                   // (H) dt = softplus(dt_proj + dt_bias)
  at::Tensor A_log;                     // (H) A = -exp(A_log), one decay rate per head
  at::Tensor D;                         // (H) skip connection
  at::Tensor norm_weight;               // (d_inner) scale of the gated RMSNorm
  torch::nn::Linear out_proj{nullptr};  // d_inner -> d_model

 private:
  // The scan's inputs for a (B, L) span: dt and A in the scan's precision, x, B and C in the
  // activations' dtype (the scan casts them).
  struct ScanInputs {
    at::Tensor x;   // (B, L, H, P)
    at::Tensor dt;  // (B, L, H) after softplus
    at::Tensor A;   // (H)
    at::Tensor B;   // (B, L, G, N)
    at::Tensor C;   // (B, L, G, N)
  };

  at::Tensor run(const at::Tensor& x, Mamba2Cache* cache, const char* fn);
  ScanInputs scan_inputs(const at::Tensor& xbc,     // (B, L, conv_dim) after conv and SiLU
                         const at::Tensor& dt_raw,  // (B, L, H) in_proj's dt
                         at::ScalarType scan_type) const;
  // D skip, gated RMSNorm and out_proj of the scan's output.
  at::Tensor finish(const at::Tensor& y,       // (B, L, H, P) scan output
                    const ScanInputs& in,      // its x (the skip) and dt (the precision)
                    const at::Tensor& z,       // (B, L, d_inner) gate
                    at::ScalarType out_type);  // -> (B, L, d_model)
  void check_input(const at::Tensor& x, int64_t rank, const char* fn) const;
  void check_cache(const Mamba2Cache& cache, int64_t batch, const char* fn) const;
  // The scan's precision: float64 for a float64 block, else float32.
  at::ScalarType scan_type() const;

  Mamba2Options options_;
};
TORCH_MODULE(Mamba2);

}  // namespace ssmkit::nn
