// Layer-wise learning-rate scales of the Ti-MAE classifiers.
#include "ssmkit/models/timae_layer_lr_scales.h"

#include <cmath>

#include "ssmkit/util/json_fields.h"

namespace ssmkit::models {

std::vector<std::pair<std::string, double>> timae_layer_lr_scales(const TiMAEOptions& options,
                                                                  double decay) {
  if (!(decay > 0.0 && decay <= 1.0)) {
    invalid_option("TiMAE layer-wise rate decay", "layer_lr_decay", "in (0, 1] (1: off)",
                   std::to_string(decay));
  }
  std::vector<std::pair<std::string, double>> scales;
  if (decay == 1.0) return scales;
  // MAE's layer ids: 0 for what comes before the layers, i + 1 for layer i, N + 1 for the rest,
  // whose scale d^(N + 1 - id) is 1.
  const int64_t layers = options.num_layers;
  const double input_scale = std::pow(decay, static_cast<double>(layers + 1));
  scales.emplace_back("encoder.embedding", input_scale);
  if (options.cls_embed) scales.emplace_back("encoder.cls_token", input_scale);
  for (int64_t i = 0; i < layers; ++i) {
    scales.emplace_back("encoder.layers." + std::to_string(i),
                        std::pow(decay, static_cast<double>(layers - i)));
  }
  return scales;
}

}  // namespace ssmkit::models
