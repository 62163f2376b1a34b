// Labelled sequences and their seeded splits.
#include "ssmkit/data/labelled_sequences.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "ssmkit/io/error.h"

namespace ssmkit::data {
namespace {

constexpr double kRatioSumTolerance = 1e-6;

}  // namespace

LabelledSequences LabelledSequences::select(const at::Tensor& index) const {
  return {inputs.index_select(0, index), targets.index_select(0, index)};
}

void check_split_ratios(const SplitRatios& ratios, const std::string& flag) {
  std::ostringstream given;
  given << ratios[0] << " " << ratios[1] << " " << ratios[2];
  double sum = 0;
  for (const double r : ratios) {
    if (!(r >= 0.0 && r <= 1.0)) {
      throw InputError(flag + ": " + given.str() + ": each ratio must be in [0, 1]");
    }
    sum += r;
  }
  if (!(ratios[0] > 0.0))
    throw InputError(flag + ": " + given.str() + ": the train ratio must be > 0");
  if (std::abs(sum - 1.0) > kRatioSumTolerance) {
    std::ostringstream total;
    total << sum;
    throw InputError(flag + ": " + given.str() + " sum to " + total.str() + ", expected 1");
  }
}

std::array<at::Tensor, 3> split_indices(int64_t n, const SplitRatios& ratios, uint64_t seed) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const at::Tensor order = torch::randperm(n, generator, torch::kLong);
  const auto count = [n](double ratio) {
    return static_cast<int64_t>(std::llround(ratio * static_cast<double>(n)));
  };
  const int64_t n_val = count(ratios[1]);
  const int64_t n_test = std::min(count(ratios[2]), n - n_val);
  const int64_t n_train = n - n_val - n_test;
  return {order.narrow(0, 0, n_train), order.narrow(0, n_train, n_val),
          order.narrow(0, n_train + n_val, n_test)};
}

SequenceSplits split_sequences(const LabelledSequences& all, const SplitRatios& ratios,
                               uint64_t seed) {
  const auto parts = split_indices(all.size(), ratios, seed);
  return {all.select(parts[0]), all.select(parts[1]), all.select(parts[2])};
}

}  // namespace ssmkit::data
