// WeightAverage against a float64 reference of the warmed-up moving average; in-place swaps;
// saving and loading the averages; bad decays and mismatched saved averages.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/train/weight_average.h"

namespace {

using ssmkit::InputError;
using ssmkit::train::AveragedWeightsScope;
using ssmkit::train::WeightAverage;
using Named = std::vector<std::pair<std::string, at::Tensor>>;

struct Weights {
  at::Tensor w = torch::randn({3, 4});
  at::Tensor b = torch::randn({4});
  Named named() const { return {{"w", w}, {"b", b}}; }
};

TEST(WeightAverageTest, UpdatesFollowTheWarmedUpAverageInFloat64) {
  torch::manual_seed(1);
  Weights m;
  WeightAverage average(m.named(), 0.9);
  at::Tensor ref_w = m.w.to(torch::kFloat64);
  at::Tensor ref_b = m.b.to(torch::kFloat64);
  for (int64_t n = 0; n < 40; ++n) {
    m.w.add_(torch::randn({3, 4}));  // an optimizer step
    m.b.add_(torch::randn({4}));
    const double d = std::min(0.9, (1.0 + n) / (10.0 + n));
    EXPECT_DOUBLE_EQ(average.decay_of_update(n), d);
    ref_w = d * ref_w + (1 - d) * m.w.to(torch::kFloat64);
    ref_b = d * ref_b + (1 - d) * m.b.to(torch::kFloat64);
    average.update();
  }
  EXPECT_EQ(average.updates(), 40);
  const Named saved = average.averages();
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(saved[0].first, "w");
  EXPECT_TRUE(torch::allclose(saved[0].second.to(torch::kFloat64), ref_w, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(saved[1].second.to(torch::kFloat64), ref_b, 1e-5, 1e-6));
  // The warm-up: the first update keeps only 1/10 of the initial weights.
  EXPECT_DOUBLE_EQ(average.decay_of_update(0), 0.1);
  EXPECT_DOUBLE_EQ(average.decay_of_update(1000), 0.9);
}

TEST(WeightAverageTest, SwapExchangesInPlaceAndTwiceRestores) {
  torch::manual_seed(2);
  Weights m;
  WeightAverage average(m.named(), 0.5);
  const at::Tensor start = m.w.clone();
  m.w.add_(1.0);
  average.update();  // decay 0.1: average = 0.1 start + 0.9 (start + 1)
  const at::Tensor raw = m.w.clone();
  const at::Tensor expected = start + 0.9;
  const void* storage = m.w.data_ptr();
  {
    const AveragedWeightsScope scope(&average);
    EXPECT_TRUE(average.swapped());
    EXPECT_EQ(m.w.data_ptr(), storage);
    EXPECT_TRUE(torch::allclose(m.w, expected));
    // The averages are reported as such while swapped in.
    EXPECT_TRUE(torch::allclose(average.averages()[0].second, expected));
    const AveragedWeightsScope nested(&average);  // already swapped: no-op
    EXPECT_TRUE(torch::allclose(m.w, expected));
  }
  EXPECT_FALSE(average.swapped());
  EXPECT_TRUE(torch::equal(m.w, raw));
  const AveragedWeightsScope none(nullptr);
  EXPECT_TRUE(torch::equal(m.w, raw));
}

TEST(WeightAverageTest, SavedAveragesLoadBackAndMismatchesAreRejected) {
  torch::manual_seed(3);
  Weights a;
  WeightAverage first(a.named(), 0.99);
  for (int i = 0; i < 5; ++i) {
    a.w.mul_(0.5);
    first.update();
  }
  Weights b;
  WeightAverage second(b.named(), 0.99);
  second.load(first.averages(), first.updates());
  EXPECT_EQ(second.updates(), 5);
  EXPECT_TRUE(torch::equal(second.averages()[0].second, first.averages()[0].second));

  Named renamed = first.averages();
  renamed[0].first = "weight";
  EXPECT_THROW(second.load(renamed, 5), InputError);
  Named reshaped = first.averages();
  reshaped[1].second = torch::zeros({5});
  EXPECT_THROW(second.load(reshaped, 5), InputError);
  EXPECT_THROW(second.load({first.averages()[0]}, 5), InputError);

  second.reset_to_parameters();
  EXPECT_EQ(second.updates(), 0);
  EXPECT_TRUE(torch::equal(second.averages()[0].second, b.w));
}

TEST(WeightAverageTest, DecayOutsideTheOpenUnitIntervalIsRejected) {
  Weights m;
  for (double decay : {0.0, 1.0, -0.5, 1.5, std::nan("")}) {
    try {
      WeightAverage average(m.named(), decay);
      ADD_FAILURE() << "no error for " << decay;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("trainer.ema_decay"), std::string::npos);
    }
  }
}

}  // namespace
