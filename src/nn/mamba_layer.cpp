// Residual Mamba layers and the stack with its final norm.
#include "ssmkit/nn/mamba_layer.h"

#include <torch/torch.h>

#include <string>

#include "ssmkit/io/error.h"
#include "ssmkit/util/json_fields.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::nn {

MambaLayerImpl::MambaLayerImpl(const MambaOptions& options, double norm_eps) {
  norm = register_module("norm", RMSNorm(options.d_model, norm_eps));
  mixer = register_module("mixer", Mamba(options));
}

at::Tensor MambaLayerImpl::forward(const at::Tensor& x) {
  at::Tensor y = x + mixer(norm(x));
  trace_shapes("MambaLayer", x, y);
  return y;
}

at::Tensor MambaLayerImpl::forward_chunk(const at::Tensor& x, MambaCache& cache) {
  at::Tensor y = x + mixer->forward_chunk(norm(x), cache);
  trace_shapes("MambaLayer::forward_chunk", x, y);
  return y;
}

at::Tensor MambaLayerImpl::step(const at::Tensor& x, MambaCache& cache) {
  at::Tensor y = x + mixer->step(norm(x), cache);
  trace_shapes("MambaLayer::step", x, y);
  return y;
}

void MambaStackOptions::validate() const {
  mamba.validate();
  if (n_layers < 1) {
    throw InputError("MambaStack: 'n_layers' must be >= 1, got " + std::to_string(n_layers));
  }
  if (!(norm_eps > 0.0)) {
    throw InputError("MambaStack: 'norm_eps' must be > 0, got " + std::to_string(norm_eps));
  }
}

void to_json(nlohmann::json& j, const MambaStackOptions& o) {
  j = nlohmann::json{{"n_layers", o.n_layers}, {"norm_eps", o.norm_eps}, {"mamba", o.mamba}};
}

void from_json(const nlohmann::json& j, MambaStackOptions& o) {
  JsonFieldReader reader(j, "MambaStack config");
  reader.read("n_layers", o.n_layers);
  reader.read("norm_eps", o.norm_eps);
  if (const nlohmann::json* mamba = reader.object("mamba")) from_json(*mamba, o.mamba);
  reader.finish();
  o.validate();
}

MambaStackImpl::MambaStackImpl(const MambaStackOptions& options) : options_(options) {
  options_.validate();
  for (int64_t i = 0; i < options_.n_layers; ++i) {
    layers.push_back(register_module("layer" + std::to_string(i),
                                     MambaLayer(options_.mamba, options_.norm_eps)));
  }
  final_norm = register_module("final_norm", RMSNorm(options_.mamba.d_model, options_.norm_eps));
}

at::Tensor MambaStackImpl::forward(const at::Tensor& x) {
  at::Tensor h = x;
  for (auto& layer : layers)
    h = layer(h);
  h = final_norm(h);
  trace_shapes("MambaStack", x, h);
  return h;
}

void MambaStackImpl::check_caches(const std::vector<MambaCache>& caches, const char* fn) const {
  TORCH_CHECK(caches.size() == layers.size(), fn, ": got ", caches.size(),
              " caches, expected one per layer (", layers.size(), "); use make_caches()");
}

at::Tensor MambaStackImpl::forward_chunk(const at::Tensor& x, std::vector<MambaCache>& caches) {
  check_caches(caches, "MambaStack::forward_chunk");
  at::Tensor h = x;
  for (size_t i = 0; i < layers.size(); ++i)
    h = layers[i]->forward_chunk(h, caches[i]);
  h = final_norm(h);
  trace_shapes("MambaStack::forward_chunk", x, h);
  return h;
}

at::Tensor MambaStackImpl::step(const at::Tensor& x, std::vector<MambaCache>& caches) {
  check_caches(caches, "MambaStack::step");
  at::Tensor h = x;
  for (size_t i = 0; i < layers.size(); ++i)
    h = layers[i]->step(h, caches[i]);
  h = final_norm(h);
  trace_shapes("MambaStack::step", x, h);
  return h;
}

std::vector<MambaCache> MambaStackImpl::make_caches(int64_t batch) const {
  std::vector<MambaCache> caches;
  caches.reserve(layers.size());
  for (const auto& layer : layers)
    caches.push_back(layer->make_cache(batch));
  return caches;
}

}  // namespace ssmkit::nn
