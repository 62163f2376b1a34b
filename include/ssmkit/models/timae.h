// The Ti-MAE classifiers, registered as TiMAE (transformer layers) and TiMAEMamba (Mamba-2
// layers): the encoder without masking, pooling over its output (the CLS token, the mean or the
// maximum over the steps) and a linear head. Fine-tuning loads the encoder of a pretraining run
// (TiMAEForPretraining), whose parameters carry the same "encoder." names.
#pragma once

#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "ssmkit/models/model.h"
#include "ssmkit/models/timae_encoder.h"
#include "ssmkit/models/timae_options.h"

namespace ssmkit::models {

class TiMAEImpl : public Model {
 public:
  explicit TiMAEImpl(const TiMAEOptions& options);

  std::string type_name() const override;
  nlohmann::json config() const override;
  // inputs (B, L, input_dim) -> logits (B, num_classes)
  at::Tensor forward(const at::Tensor& inputs) override;

  const TiMAEOptions& options() const { return options_; }

  TiMAEEncoder encoder{nullptr};
  torch::nn::Linear classifier{nullptr};  // emb_size -> num_classes

 private:
  TiMAEOptions options_;
};

}  // namespace ssmkit::models
