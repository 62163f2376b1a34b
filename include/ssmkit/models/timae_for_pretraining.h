// The Ti-MAE masked autoencoders, registered as TiMAEForPretraining (transformer layers) and
// TiMAEMambaForPretraining (Mamba-2 layers): each forward draws a random mask per sample, encodes
// the kept steps and reconstructs every step. The output carries the mask beside the
// reconstruction, so that the loss (masked_reconstruction_loss) is a function of (outputs,
// targets) like every other loss of the Trainer.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/pimpl.h>

#include "ssmkit/models/model.h"
#include "ssmkit/models/timae_decoder.h"
#include "ssmkit/models/timae_encoder.h"
#include "ssmkit/models/timae_options.h"

namespace ssmkit::models {

class TiMAEForPretrainingImpl : public Model {
 public:
  explicit TiMAEForPretrainingImpl(const TiMAEOptions& options);

  std::string type_name() const override;
  nlohmann::json config() const override;
  // inputs (B, L, C) -> (B, L, C + 1): the reconstruction, then the mask (1 at removed steps).
  at::Tensor forward(const at::Tensor& inputs) override;

  const TiMAEOptions& options() const { return options_; }

  TiMAEEncoder encoder{nullptr};
  TiMAEDecoder decoder{nullptr};

 private:
  TiMAEOptions options_;
};

// Mean squared error over the removed steps only (the masked autoencoder's objective): the sum of
// the per-step mean over channels, times the mask, divided by the number of removed steps.
at::Tensor masked_reconstruction_loss(const at::Tensor& outputs,   // (B, L, C + 1) from forward
                                      const at::Tensor& targets);  // (B, L, C) the inputs

}  // namespace ssmkit::models
