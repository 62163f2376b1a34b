// Normalize, RandomCrop, RandomHorizontalFlip and Compose against direct computations.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "ssmkit/data/image_transforms.h"

namespace ssmkit::data {
namespace {

Example image_example(int64_t channels, int64_t height, int64_t width) {
  return Example{torch::randn({channels, height, width}), torch::tensor(3)};
}

TEST(Normalize, PerChannelMeanAndStd) {
  const auto example = image_example(3, 4, 5);
  SeededRng rng(1);
  const Normalize normalize({0.5, -1.0, 2.0}, {0.25, 2.0, 4.0});
  const auto out = normalize.apply(example, rng);
  const double mean[] = {0.5, -1.0, 2.0}, stdev[] = {0.25, 2.0, 4.0};
  const auto in = example.input.to(torch::kDouble);
  for (int64_t c = 0; c < 3; ++c) {
    const auto expected = (in[c] - mean[c]) / stdev[c];
    EXPECT_TRUE(torch::allclose(out.input[c].to(torch::kDouble), expected, 1e-6, 1e-6));
  }
  EXPECT_EQ(out.input.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(out.target, example.target));
  // Wrong channel count, integer pixels, bad parameters.
  EXPECT_THROW(normalize.apply(image_example(1, 4, 5), rng), c10::Error);
  EXPECT_THROW(normalize.apply(Example{torch::zeros({3, 4, 5}, torch::kByte), example.target}, rng),
               c10::Error);
  EXPECT_THROW(Normalize({0.5}, {0.0}), c10::Error);
  EXPECT_THROW(Normalize({0.5, 0.5}, {1.0}), c10::Error);
}

// Finds where `crop` sits inside the zero-padded `input`; -1 when nowhere.
std::pair<int64_t, int64_t> crop_offset(const at::Tensor& input, const at::Tensor& crop,
                                        int64_t padding) {
  const auto padded = torch::constant_pad_nd(input, {padding, padding, padding, padding}, 0);
  for (int64_t top = 0; top + crop.size(1) <= padded.size(1); ++top) {
    for (int64_t left = 0; left + crop.size(2) <= padded.size(2); ++left) {
      const auto window =
          padded.slice(1, top, top + crop.size(1)).slice(2, left, left + crop.size(2));
      if (torch::equal(window, crop)) return {top, left};
    }
  }
  return {-1, -1};
}

TEST(RandomCrop, IsAWindowOfTheZeroPaddedImageAtAUniformOffset) {
  const auto example = image_example(2, 8, 8);
  const RandomCrop crop(8, 8, 2);
  std::set<std::pair<int64_t, int64_t>> offsets;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    SeededRng rng(seed);
    const auto out = crop.apply(example, rng);
    ASSERT_EQ(out.input.sizes(), example.input.sizes());
    const auto offset = crop_offset(example.input, out.input, 2);
    ASSERT_GE(offset.first, 0) << "seed " << seed << ": not a window of the padded image";
    offsets.insert(offset);
    // Same seed, same crop.
    SeededRng again(seed);
    EXPECT_TRUE(torch::equal(crop.apply(example, again).input, out.input));
  }
  // 5 x 5 possible offsets; 200 draws reach nearly all of them.
  EXPECT_GE(offsets.size(), 23u);
  // Smaller crop than the image, no padding.
  const RandomCrop small(3, 5, 0);
  SeededRng rng(9);
  const auto out = small.apply(example, rng);
  EXPECT_EQ(out.input.sizes(), (std::vector<int64_t>{2, 3, 5}));
  EXPECT_GE(crop_offset(example.input, out.input, 0).first, 0);
  EXPECT_THROW(RandomCrop(10, 8, 0).apply(example, rng), c10::Error);
  EXPECT_THROW(RandomCrop(8, 8, -1), c10::Error);
  EXPECT_THROW(crop.apply(Example{torch::randn({8, 8}), example.target}, rng), c10::Error);
}

TEST(RandomHorizontalFlip, FlipsAboutHalfTheTimeAndOnlyHorizontally) {
  const auto example = image_example(3, 4, 6);
  const auto mirrored = example.input.flip({2});
  const RandomHorizontalFlip flip;
  int flipped = 0;
  constexpr int kDraws = 1000;
  for (int seed = 0; seed < kDraws; ++seed) {
    SeededRng rng(static_cast<uint64_t>(seed));
    const auto out = flip.apply(example, rng).input;
    const bool same = torch::equal(out, example.input);
    const bool mirror = torch::equal(out, mirrored);
    ASSERT_TRUE(same || mirror);
    flipped += mirror ? 1 : 0;
  }
  // Binomial(1000, 0.5): 5 standard deviations is about 79.
  EXPECT_NEAR(flipped, kDraws / 2, 80);
  SeededRng rng(0);
  EXPECT_TRUE(torch::equal(RandomHorizontalFlip(1.0).apply(example, rng).input, mirrored));
  EXPECT_TRUE(torch::equal(RandomHorizontalFlip(0.0).apply(example, rng).input, example.input));
  EXPECT_THROW(RandomHorizontalFlip(1.5), c10::Error);
}

TEST(Compose, AppliesInOrderFromOneStream) {
  const auto example = image_example(3, 8, 8);
  auto crop = std::make_shared<RandomCrop>(8, 8, 4);
  auto flip = std::make_shared<RandomHorizontalFlip>();
  auto normalize = std::make_shared<Normalize>(std::vector<double>{0.1, 0.2, 0.3},
                                               std::vector<double>{1.0, 2.0, 3.0});
  const Compose compose({crop, flip, normalize});
  SeededRng composed_rng(5);
  const auto out = compose.apply(example, composed_rng);
  SeededRng manual_rng(5);
  auto manual = crop->apply(example, manual_rng);
  manual = flip->apply(manual, manual_rng);
  manual = normalize->apply(manual, manual_rng);
  EXPECT_TRUE(torch::equal(out.input, manual.input));
  EXPECT_THROW(Compose({nullptr}), c10::Error);
}

TEST(Transforms, NeverModifyTheDatasetTensor) {
  const auto example = image_example(3, 8, 8);
  const auto original = example.input.clone();
  SeededRng rng(3);
  Compose({std::make_shared<RandomCrop>(8, 8, 2), std::make_shared<RandomHorizontalFlip>(1.0),
           std::make_shared<Normalize>(std::vector<double>{1, 1, 1}, std::vector<double>{2, 2, 2})})
      .apply(example, rng);
  EXPECT_TRUE(torch::equal(example.input, original));
}

}  // namespace
}  // namespace ssmkit::data
