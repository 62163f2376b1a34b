// Normalize, RandomCrop and RandomHorizontalFlip on (C, H, W) images.
#include "ssmkit/data/image_transforms.h"

#include <torch/torch.h>

#include "ssmkit/util/checks.h"

namespace ssmkit::data {
namespace {

void check_image(const at::Tensor& input,  // (C, H, W)
                 const char* fn) {
  check_rank(input, fn, "input", "(C, H, W)", 3);
}

}  // namespace

Normalize::Normalize(std::vector<double> mean, std::vector<double> std) {
  TORCH_CHECK(!mean.empty() && mean.size() == std.size(), "Normalize: ", mean.size(), " means and ",
              std.size(),
              " standard deviations given; expected one of each per "
              "channel");
  for (size_t c = 0; c < std.size(); ++c) {
    TORCH_CHECK(std[c] > 0.0, "Normalize: standard deviation of channel ", c, " is ", std[c],
                ", expected > 0");
  }
  const auto channels = static_cast<int64_t>(mean.size());
  mean_ = torch::tensor(mean, torch::kDouble).reshape({channels, 1, 1});
  std_ = torch::tensor(std, torch::kDouble).reshape({channels, 1, 1});
}

Example Normalize::apply(const Example& example, SeededRng& /*rng*/) const {
  const char* fn = "Normalize";
  check_image(example.input, fn);
  check_dtype(example.input, fn, "input", {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16});
  TORCH_CHECK(example.input.size(0) == mean_.size(0), fn, ": 'input' has shape ",
              shape_string(example.input.sizes()), " (", example.input.size(0),
              " channels), expected ", mean_.size(0), " channels");
  const auto options = example.input.options();
  return Example{(example.input - mean_.to(options)) / std_.to(options), example.target};
}

RandomCrop::RandomCrop(int64_t height, int64_t width, int64_t padding)
    : height_(height), width_(width), padding_(padding) {
  TORCH_CHECK(height > 0 && width > 0, "RandomCrop: crop size ", height, " x ", width,
              " must be positive");
  TORCH_CHECK(padding >= 0, "RandomCrop: padding is ", padding, ", expected >= 0");
}

Example RandomCrop::apply(const Example& example, SeededRng& rng) const {
  const char* fn = "RandomCrop";
  check_image(example.input, fn);
  const int64_t padded_height = example.input.size(1) + 2 * padding_;
  const int64_t padded_width = example.input.size(2) + 2 * padding_;
  TORCH_CHECK(height_ <= padded_height && width_ <= padded_width, fn, ": crop ", height_, " x ",
              width_, " is larger than the padded image ", padded_height, " x ", padded_width,
              " ('input' has shape ", shape_string(example.input.sizes()), ")");
  const int64_t top = rng.uniform_int(0, padded_height - height_);
  const int64_t left = rng.uniform_int(0, padded_width - width_);
  const auto padded =
      at::constant_pad_nd(example.input, {padding_, padding_, padding_, padding_}, 0);
  return Example{padded.slice(1, top, top + height_).slice(2, left, left + width_).contiguous(),
                 example.target};
}

RandomHorizontalFlip::RandomHorizontalFlip(double probability) : probability_(probability) {
  TORCH_CHECK(probability >= 0.0 && probability <= 1.0, "RandomHorizontalFlip: probability is ",
              probability, ", expected in [0, 1]");
}

Example RandomHorizontalFlip::apply(const Example& example, SeededRng& rng) const {
  check_image(example.input, "RandomHorizontalFlip");
  if (rng.uniform() < probability_) return Example{example.input.flip({2}), example.target};
  return example;
}

}  // namespace ssmkit::data
