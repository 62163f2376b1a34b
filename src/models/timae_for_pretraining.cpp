// The Ti-MAE masked autoencoders and their loss.
#include "ssmkit/models/timae_for_pretraining.h"

#include <torch/torch.h>

#include "ssmkit/util/checks.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::models {

TiMAEForPretrainingImpl::TiMAEForPretrainingImpl(const TiMAEOptions& options) : options_(options) {
  options_.validate(/*classifier=*/false);
  encoder = register_module("encoder", TiMAEEncoder(options_));
  decoder = register_module("decoder", TiMAEDecoder(options_));
}

std::string TiMAEForPretrainingImpl::type_name() const {
  return options_.mixer == TiMAEMixer::kTransformer ? "TiMAEForPretraining"
                                                    : "TiMAEMambaForPretraining";
}

nlohmann::json TiMAEForPretrainingImpl::config() const {
  return options_;
}

at::Tensor TiMAEForPretrainingImpl::forward(const at::Tensor& inputs) {
  const TiMAEEncoding encoding = encoder->forward(inputs, options_.mask_ratio);
  const at::Tensor reconstruction = decoder->forward(encoding);  // (B, L, C)
  at::Tensor out = torch::cat(
      {reconstruction, encoding.mask.mask.to(reconstruction.scalar_type()).unsqueeze(-1)}, -1);
  trace_shapes(type_name().c_str(), inputs, out);
  return out;
}

at::Tensor masked_reconstruction_loss(const at::Tensor& outputs, const at::Tensor& targets) {
  constexpr const char* fn = "masked_reconstruction_loss";
  TORCH_CHECK(outputs.dim() == 3 && targets.dim() == 3 && outputs.size(0) == targets.size(0) &&
                  outputs.size(1) == targets.size(1) && outputs.size(2) == targets.size(2) + 1,
              fn, ": outputs ", shape_string(outputs.sizes()), " must be the targets ",
              shape_string(targets.sizes()), " plus one mask channel");
  const int64_t channels = targets.size(2);
  // Half-precision outputs are compared in float32; float64 stays float64.
  const auto type = outputs.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  const at::Tensor prediction = outputs.narrow(2, 0, channels).to(type);
  const at::Tensor mask = outputs.select(2, channels).to(type);  // (B, L)
  const at::Tensor per_step = (prediction - targets.to(type)).pow(2).mean(-1);
  return (per_step * mask).sum() / mask.sum().clamp_min(1.0);
}

}  // namespace ssmkit::models
