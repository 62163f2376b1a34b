// Patching and patch embedding.
#include "ssmkit/nn/patch_embedding.h"

#include <torch/torch.h>

#include <cmath>

#include "ssmkit/io/error.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::nn {
namespace {

// The wavelength base of the sinusoidal table (Vaswani et al.).
constexpr double kSinusoidBase = 10000.0;
// Half-width of the uniform init of a learned positional table (PatchTST).
constexpr double kLearnedPositionInitRange = 0.02;

}  // namespace

int64_t patch_count(int64_t seq_len, int64_t patch_len, int64_t stride) {
  TORCH_CHECK(patch_len >= 1 && stride >= 1, "patch_count: patch_len ", patch_len, " and stride ",
              stride, " must both be >= 1");
  TORCH_CHECK(seq_len >= 1 && seq_len + stride >= patch_len, "patch_count: a series of length ",
              seq_len, " padded by stride ", stride, " is shorter than patch_len ", patch_len);
  return (seq_len + stride - patch_len) / stride + 1;
}

at::Tensor make_patches(const at::Tensor& x, int64_t patch_len, int64_t stride) {
  check_rank(x, "make_patches", "x", "(B, C, L)", 3);
  patch_count(x.size(2), patch_len, stride);              // validates the lengths
  const at::Tensor last = x.narrow(2, x.size(2) - 1, 1);  // (B, C, 1)
  const at::Tensor padded = torch::cat({x, last.expand({-1, -1, stride})}, 2);  // (B, C, L + S)
  return padded.unfold(2, patch_len, stride);  // (B, C, P, patch_len)
}

PositionalEmbedding positional_embedding_from_string(const std::string& name) {
  if (name == "sinusoidal") return PositionalEmbedding::kSinusoidal;
  if (name == "learned") return PositionalEmbedding::kLearned;
  throw InputError("positional embedding '" + name +
                   "' is unknown, expected sinusoidal or learned");
}

std::string to_string(PositionalEmbedding kind) {
  return kind == PositionalEmbedding::kSinusoidal ? "sinusoidal" : "learned";
}

at::Tensor sinusoidal_positions(int64_t num_positions, int64_t d_model) {
  TORCH_CHECK(num_positions >= 1 && d_model >= 1, "sinusoidal_positions: ", num_positions,
              " positions of size ", d_model, ", expected both >= 1");
  const at::Tensor position = torch::arange(num_positions, torch::kDouble).unsqueeze(1);  // (P, 1)
  const at::Tensor freq = torch::exp(torch::arange(0, d_model, 2, torch::kDouble) *
                                     (-std::log(kSinusoidBase) / d_model));  // (ceil(d/2))
  const at::Tensor angle = position * freq;                                  // (P, ceil(d/2))
  at::Tensor table = torch::zeros({num_positions, d_model}, torch::kDouble);
  using torch::indexing::None;
  using torch::indexing::Slice;
  table.index_put_({Slice(), Slice(0, None, 2)}, torch::sin(angle));
  table.index_put_({Slice(), Slice(1, None, 2)}, torch::cos(angle).narrow(1, 0, d_model / 2));
  return table.to(torch::kFloat);
}

PatchEmbeddingImpl::PatchEmbeddingImpl(const PatchEmbeddingOptions& options) : options_(options) {
  TORCH_CHECK(options_.d_model >= 1, "PatchEmbedding: d_model is ", options_.d_model,
              ", expected >= 1");
  TORCH_CHECK(options_.dropout >= 0 && options_.dropout < 1, "PatchEmbedding: dropout is ",
              options_.dropout, ", expected in [0, 1)");
  num_patches_ = patch_count(options_.seq_len, options_.patch_len, options_.stride);
  value_embedding_ = register_module(
      "value_embedding",
      torch::nn::Linear(
          torch::nn::LinearOptions(options_.patch_len, options_.d_model).bias(false)));
  if (options_.positional == PositionalEmbedding::kSinusoidal) {
    positions_ = register_buffer("positions", sinusoidal_positions(num_patches_, options_.d_model));
  } else {
    positions_ = register_parameter(
        "positions", torch::empty({num_patches_, options_.d_model})
                         .uniform_(-kLearnedPositionInitRange, kLearnedPositionInitRange));
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(options_.dropout));
}

at::Tensor PatchEmbeddingImpl::forward(const at::Tensor& x) {
  check_shape(x, "PatchEmbedding", "x", "(B, C, L)", {-1, -1, options_.seq_len});
  check_same_device(x, positions_, "PatchEmbedding", "x", "the module's parameters");
  const at::Tensor patches = make_patches(x, options_.patch_len, options_.stride);  // (B, C, P, S)
  return dropout_(value_embedding_(patches) + positions_);  // (B, C, P, d_model)
}

}  // namespace ssmkit::nn
