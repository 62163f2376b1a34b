// The Ti-MAE classifiers.
#include "ssmkit/models/timae.h"

#include <torch/torch.h>

#include "ssmkit/util/trace.h"

namespace ssmkit::models {

TiMAEImpl::TiMAEImpl(const TiMAEOptions& options) : options_(options) {
  options_.validate(/*classifier=*/true);
  encoder = register_module("encoder", TiMAEEncoder(options_));
  classifier =
      register_module("classifier", torch::nn::Linear(options_.emb_size, options_.num_classes));
}

std::string TiMAEImpl::type_name() const {
  return options_.mixer == TiMAEMixer::kTransformer ? "TiMAE" : "TiMAEMamba";
}

nlohmann::json TiMAEImpl::config() const {
  return options_;
}

at::Tensor TiMAEImpl::forward(const at::Tensor& inputs) {
  // In training the encoder may see a random subset of the steps (finetune_mask_ratio), in the
  // masked pretraining's way: a regulariser for the small labelled sets it is fine-tuned on.
  const double mask_ratio = is_training() ? options_.finetune_mask_ratio : 0.0;
  const at::Tensor hidden = encoder->forward(inputs, mask_ratio).hidden;  // (B, T, E)
  const int64_t length = hidden.size(1) - (options_.cls_embed ? 1 : 0);   // steps encoded
  const bool cls_first = encoder->cls_first();
  const std::string pooling = options_.resolved_pooling();
  at::Tensor pooled;  // (B, E)
  if (pooling == "cls") {
    pooled = hidden.select(1, cls_first ? 0 : length);
  } else {
    const at::Tensor steps =
        options_.cls_embed ? hidden.narrow(1, cls_first ? 1 : 0, length) : hidden;  // (B, L, E)
    pooled = pooling == "avg" ? steps.mean(1) : std::get<0>(steps.max(1));
  }
  at::Tensor logits = classifier(pooled);
  trace_shapes(type_name().c_str(), inputs, logits);
  return logits;
}

}  // namespace ssmkit::models
