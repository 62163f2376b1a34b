// Image augmentations and normalisation on one example's input (C, H, W); targets pass through.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "ssmkit/data/transform.h"

namespace ssmkit::data {

// (input - mean[c]) / std[c] per channel. The input must be floating point (scale integer pixels
// to [0, 1] before, as the means and deviations usually assume).
class Normalize : public Transform {
 public:
  Normalize(std::vector<double> mean, std::vector<double> std);
  Example apply(const Example& example, SeededRng& rng) const override;

 private:
  at::Tensor mean_;  // (C, 1, 1) float64
  at::Tensor std_;   // (C, 1, 1) float64
};

// Pads the image with `padding` zeros on every side, then cuts a height x width window at a
// uniformly drawn position (the CIFAR "random crop with padding").
class RandomCrop : public Transform {
 public:
  RandomCrop(int64_t height, int64_t width, int64_t padding);
  Example apply(const Example& example, SeededRng& rng) const override;

 private:
  int64_t height_;
  int64_t width_;
  int64_t padding_;
};

// Mirrors the image left-right with probability `probability`. Always draws one number, so the
// transforms after it see the same random stream whether or not it flipped.
class RandomHorizontalFlip : public Transform {
 public:
  explicit RandomHorizontalFlip(double probability = 0.5);
  Example apply(const Example& example, SeededRng& rng) const override;

 private:
  double probability_;
};

}  // namespace ssmkit::data
