// Layer-wise learning-rate decay for fine-tuning the Ti-MAE classifiers, as MAE and BEiT fine-tune
// their encoders: the further a layer is from the head, the smaller its rate, so that fine-tuning
// changes the pretrained early layers least.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ssmkit/models/timae_options.h"

namespace ssmkit::models {

// The [parameter name prefix, scale] pairs for the optimizer's lr_scales
// (train/optimizer_factory.h) of a TiMAE or TiMAEMamba classifier with N = options.num_layers
// encoder layers and decay d, as MAE's param_groups_lrd: the input embedding ("encoder.embedding")
// and the CLS token
// ("encoder.cls_token", when options.cls_embed) d^(N+1), encoder layer i (0-based,
// "encoder.layers.i") d^(N-i); the rest (the encoder's final norm, the head) keeps the base rate.
// Empty for d = 1 (off). InputError with key "layer_lr_decay" unless d is in (0, 1].
std::vector<std::pair<std::string, double>> timae_layer_lr_scales(const TiMAEOptions& options,
                                                                  double decay);

}  // namespace ssmkit::models
