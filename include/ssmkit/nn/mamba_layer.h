// Mamba's residual block, x + Mamba(RMSNorm(x)), and a stack of them with a final norm: the
// backbone that sequence models put between their input embedding and their heads.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "ssmkit/nn/mamba.h"
#include "ssmkit/nn/rms_norm.h"

namespace ssmkit::nn {

class MambaLayerImpl : public torch::nn::Module {
 public:
  explicit MambaLayerImpl(const MambaOptions& options, double norm_eps = kDefaultRmsNormEps);

  at::Tensor forward(const at::Tensor& x);  // (B, L, d_model) -> (B, L, d_model)
  // As Mamba::forward_chunk / Mamba::step, with the residual and the norm.
  at::Tensor forward_chunk(const at::Tensor& x, MambaCache& cache);  // (B, L, d_model)
  at::Tensor step(const at::Tensor& x, MambaCache& cache);           // (B, d_model)

  MambaCache make_cache(int64_t batch) const { return mixer->make_cache(batch); }

  RMSNorm norm{nullptr};
  Mamba mixer{nullptr};
};
TORCH_MODULE(MambaLayer);

struct MambaStackOptions {
  MambaOptions mamba;  // every layer's block
  int64_t n_layers = 2;
  double norm_eps = kDefaultRmsNormEps;

  void validate() const;  // throws InputError naming the first invalid field
};

// JSON form: {"n_layers": 4, "norm_eps": 1e-5, "mamba": {"d_model": 64, ...}}; strict as for
// MambaOptions.
void to_json(nlohmann::json& j, const MambaStackOptions& options);
void from_json(const nlohmann::json& j, MambaStackOptions& options);

// n_layers MambaLayers and a final RMSNorm.
class MambaStackImpl : public torch::nn::Module {
 public:
  explicit MambaStackImpl(const MambaStackOptions& options);

  at::Tensor forward(const at::Tensor& x);  // (B, L, d_model) -> (B, L, d_model)
  // One cache per layer (make_caches); chunked and recurrent inference as in Mamba.
  at::Tensor forward_chunk(const at::Tensor& x, std::vector<MambaCache>& caches);  // (B, L, d)
  at::Tensor step(const at::Tensor& x, std::vector<MambaCache>& caches);           // (B, d)
  std::vector<MambaCache> make_caches(int64_t batch) const;

  const MambaStackOptions& options() const { return options_; }

  std::vector<MambaLayer> layers;
  RMSNorm final_norm{nullptr};

 private:
  void check_caches(const std::vector<MambaCache>& caches, const char* fn) const;

  MambaStackOptions options_;
};
TORCH_MODULE(MambaStack);

}  // namespace ssmkit::nn
