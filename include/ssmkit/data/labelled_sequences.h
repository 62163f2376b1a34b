// Sequences with one target each, the form S4Model trains on: images read pixel by pixel and
// tabular rows read feature by feature both become (N, L, C) inputs, and the seeded splits of
// such a set into training, validation and test parts.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>

namespace ssmkit::data {

struct LabelledSequences {
  at::Tensor inputs;   // (N, L, C) float32
  at::Tensor targets;  // (N) int64 class indices, or (N, 1) float32 values

  int64_t size() const { return inputs.defined() ? inputs.size(0) : 0; }
  // Rows `index` (int64 (M)) of both.
  LabelledSequences select(const at::Tensor& index) const;
};

// Train, validation and test fractions; each >= 0, train > 0, summing to 1 (within 1e-6).
using SplitRatios = std::array<double, 3>;

// Throws InputError naming `flag` unless the ratios are valid.
void check_split_ratios(const SplitRatios& ratios, const std::string& flag);

struct SequenceSplits {
  LabelledSequences train;
  LabelledSequences val;
  LabelledSequences test;
};

// Shuffles the rows with `seed` (torch's generator, so the order depends on the seed alone) and
// cuts them into train, validation and test parts of sizes round(ratio * N), the training part
// taking what rounding leaves. Empty parts keep their tensors' trailing shapes with 0 rows.
SequenceSplits split_sequences(const LabelledSequences& all, const SplitRatios& ratios,
                               uint64_t seed);

// The row indices of split_sequences' three parts for n rows: int64 tensors (n_train), (n_val),
// (n_test).
std::array<at::Tensor, 3> split_indices(int64_t n, const SplitRatios& ratios, uint64_t seed);

}  // namespace ssmkit::data
