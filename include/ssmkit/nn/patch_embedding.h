// Patching of time series as in PatchTST and CMamba: each channel's series is padded at the end by
// repeating its last value `stride` times and cut into overlapping patches; every patch becomes a
// token (linear map to d_model plus a positional embedding).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>

namespace ssmkit::nn {

// Number of patches of a series of length `seq_len`: (seq_len + stride - patch_len) / stride + 1,
// i.e. (seq_len - patch_len) / stride + 2 when seq_len >= patch_len. Throws when it would be < 1.
int64_t patch_count(int64_t seq_len, int64_t patch_len, int64_t stride);

// x (B, C, L) -> (B, C, P, patch_len): pads the end with `stride` copies of the last value, then
// takes windows of patch_len every stride steps. A view of the padded tensor.
at::Tensor make_patches(const at::Tensor& x, int64_t patch_len, int64_t stride);

enum class PositionalEmbedding {
  kSinusoidal,  // fixed sin/cos table (CMamba, Transformer)
  kLearned,     // a learned (P, d_model) table initialised uniform in +-0.02 (PatchTST)
};

// "sinusoidal" | "learned"; throws InputError for anything else.
PositionalEmbedding positional_embedding_from_string(const std::string& name);
std::string to_string(PositionalEmbedding kind);

// Fixed sinusoidal table (P, d_model): even features sin(p / 10000^(2i/d)), odd features cos.
at::Tensor sinusoidal_positions(int64_t num_positions, int64_t d_model);

struct PatchEmbeddingOptions {
  int64_t seq_len = 96;
  int64_t patch_len = 16;
  int64_t stride = 8;
  int64_t d_model = 128;
  double dropout = 0.0;
  PositionalEmbedding positional = PositionalEmbedding::kSinusoidal;
};

class PatchEmbeddingImpl : public torch::nn::Module {
 public:
  explicit PatchEmbeddingImpl(const PatchEmbeddingOptions& options);

  // x (B, C, L) -> tokens (B, C, P, d_model).
  at::Tensor forward(const at::Tensor& x);

  int64_t num_patches() const { return num_patches_; }
  const PatchEmbeddingOptions& options() const { return options_; }

 private:
  PatchEmbeddingOptions options_;
  int64_t num_patches_ = 0;
  torch::nn::Linear value_embedding_{nullptr};  // patch_len -> d_model, no bias
  at::Tensor positions_;                        // (P, d_model) buffer or parameter
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(PatchEmbedding);

}  // namespace ssmkit::nn
