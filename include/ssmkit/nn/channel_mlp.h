// The small bottleneck MLP across channels shared by channel attention and the GDD-MLP:
// C -> max(1, C / reduction) -> C with an activation in between, applied to per-channel
// descriptors (pooled features) on the last axis.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>

namespace ssmkit::nn {

enum class Activation { kRelu, kGelu };

// "relu" | "gelu"; throws InputError for anything else.
Activation activation_from_string(const std::string& name);
std::string to_string(Activation activation);
at::Tensor apply_activation(Activation activation, const at::Tensor& x);  // (...) -> (...)

// How descriptors are pooled from the features of each channel.
struct ChannelPooling {
  bool average = true;
  bool maximum = true;
};

struct ChannelMlpOptions {
  int64_t num_channels = 1;  // C
  int64_t reduction = 2;     // hidden width C / reduction (at least 1)
  bool bias = true;
  Activation activation = Activation::kGelu;
};

class ChannelMlpImpl : public torch::nn::Module {
 public:
  explicit ChannelMlpImpl(const ChannelMlpOptions& options);

  // d (..., C) -> (..., C).
  at::Tensor forward(const at::Tensor& d);

  int64_t hidden() const { return hidden_; }

 private:
  ChannelMlpOptions options_;
  int64_t hidden_ = 0;
  torch::nn::Linear reduce_{nullptr};  // C -> hidden
  torch::nn::Linear expand_{nullptr};  // hidden -> C
};
TORCH_MODULE(ChannelMlp);

// x pooled over `dims` (consecutive, ascending; removed) by each enabled pooling, stacked on a new
// leading axis: (K, pooled shape) with K = 1 or 2, average first. Throws if no pooling is enabled.
at::Tensor pooled_descriptors(const at::Tensor& x, at::IntArrayRef dims,
                              const ChannelPooling& pooling);

}  // namespace ssmkit::nn
