// The UCR data module: a seeded 85/15 split of the training file (425/75 on ECG5000's 500),
// class_id_start detected as the smallest label, normalisation with the training file's
// statistics, pretraining targets equal to the inputs, random crops the same for inputs and
// targets and the same again on a rerun; inverse-frequency class weights; every bad file or
// setting one InputError naming the file or flag.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>

#include "ssmkit/data/class_weights.h"
#include "ssmkit/data/random_crop_batch_source.h"
#include "ssmkit/data/tensor_batch_source.h"
#include "ssmkit/data/ucr_data_module.h"
#include "ssmkit/io/error.h"
#include "test_helpers.h"
#include "test_temp_dir.h"

namespace ssmkit::data {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// n series of `length` steps, labels cycling through first..first+classes-1.
std::string ucr_text(int64_t n, int64_t length, int64_t first, int64_t classes) {
  std::string text;
  for (int64_t i = 0; i < n; ++i) {
    text += std::to_string(first + i % classes);
    for (int64_t t = 0; t < length; ++t)
      text += "\t" + std::to_string(0.5 * static_cast<double>(i) + 0.01 * static_cast<double>(t));
    text += "\n";
  }
  return text;
}

TEST(UcrDataModule, SplitsTheTrainingFileAndCodesLabelsFromTheSmallest) {
  const testing::TempDir dir;
  UcrDataOptions o;
  o.dataset_path = dir.write("train.tsv", ucr_text(100, 8, 3, 4));
  const UcrFitData data = load_ucr_fit_data(o);
  EXPECT_EQ(data.class_id_start, 3);
  EXPECT_EQ(data.num_classes, 4);
  EXPECT_EQ(data.train.inputs.size(0), 85);
  EXPECT_EQ(data.val.inputs.size(0), 15);
  EXPECT_EQ(data.train.inputs.sizes(), (std::vector<int64_t>{85, 8, 1}));
  EXPECT_EQ(data.train.labels.min().item<int64_t>(), 0);
  // Seeded: the same split again.
  EXPECT_TRUE(torch::equal(load_ucr_fit_data(o).val.inputs, data.val.inputs));
}

TEST(UcrDataModule, NormalisesWithTheTrainingFilesStatistics) {
  const testing::TempDir dir;
  UcrDataOptions o;
  o.dataset_path = dir.write("train.tsv", ucr_text(20, 6, 1, 2));
  o.val_dataset_path = dir.write("val.tsv", ucr_text(10, 6, 1, 2));
  o.normalize = true;
  const UcrFitData data = load_ucr_fit_data(o);
  EXPECT_NEAR(data.train.inputs.mean().item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(data.train.inputs.std().item<double>(), 1.0, 1e-4);
  const UcrSeries test = load_ucr_eval_data(o.val_dataset_path, o, data.class_id_start,
                                            data.num_classes, data.mean, data.std);
  EXPECT_TRUE(torch::allclose(test.inputs, data.val.inputs));
}

TEST(UcrDataModule, PretrainingTargetsAreTheCroppedInputs) {
  const testing::TempDir dir;
  UcrDataOptions o;
  o.dataset_path = dir.write("train.tsv", ucr_text(10, 12, 1, 2));
  o.val_dataset_path = o.dataset_path;
  o.pretrain = true;
  o.crop_size = 5;
  o.batch_size = 4;
  const UcrFitData data = load_ucr_fit_data(o);
  const auto batches = ucr_training_batches(data.train, o, 7);
  const auto again = ucr_training_batches(data.train, o, 7);
  batches->reset(2);
  again->reset(2);
  Batch a, b;
  int64_t count = 0;
  while (batches->next(a)) {
    ASSERT_TRUE(again->next(b));
    EXPECT_EQ(a.inputs.sizes(), (std::vector<int64_t>{a.inputs.size(0), 5, 1}));
    EXPECT_TRUE(torch::equal(a.inputs, a.targets));
    EXPECT_TRUE(torch::equal(a.inputs, b.inputs)) << "crops follow (seed, epoch, batch)";
    // Each crop is a run of consecutive steps of some series (steps differ by 0.01).
    EXPECT_TRUE(torch::allclose(a.inputs.squeeze(-1).diff(1, 1),
                                torch::full({a.inputs.size(0), 4}, 0.01f), 1e-4, 1e-5));
    ++count;
  }
  EXPECT_EQ(count, 3);
}

TEST(UcrDataModule, BadFilesAndSettingsNameTheFileOrFlag) {
  const testing::TempDir dir;
  const std::string good = dir.write("good.tsv", ucr_text(10, 6, 1, 2));
  UcrDataOptions o;
  o.dataset_path = dir.file("missing.tsv");
  EXPECT_THAT([&] { load_ucr_fit_data(o); }, ThrowsMessage<InputError>(HasSubstr("missing.tsv")));
  o.dataset_path = dir.write("ragged.tsv", "1\t0.1\t0.2\n2\t0.3\n");
  EXPECT_THAT([&] { load_ucr_fit_data(o); }, ThrowsMessage<InputError>(HasSubstr("ragged.tsv")));
  o.dataset_path = dir.write("text.tsv", "1\t0.1\tabc\n");
  EXPECT_THAT([&] { load_ucr_fit_data(o); }, ThrowsMessage<InputError>(HasSubstr("text.tsv")));
  o.dataset_path = good;
  o.crop_size = 7;
  EXPECT_THAT([&] { load_ucr_fit_data(o); },
              ThrowsMessage<InputError>(HasSubstr("--data.crop_size")));
  o.crop_size = 0;
  o.scale_std = -0.5;
  EXPECT_THAT([&] { load_ucr_fit_data(o); },
              ThrowsMessage<InputError>(HasSubstr("--data.scale_std: must be a finite number")));
  o.scale_std = 0.0;
  o.jitter_std = std::nan("");  // a YAML config's .nan
  EXPECT_THAT([&] { load_ucr_fit_data(o); },
              ThrowsMessage<InputError>(HasSubstr("--data.jitter_std: must be a finite number")));
  o.jitter_std = 0.0;
  o.class_id_start = 2;
  EXPECT_THAT([&] { load_ucr_fit_data(o); },
              ThrowsMessage<InputError>(HasSubstr("label 1 is outside")));
  o.class_id_start.reset();
  o.split_ratio = 1.0;
  EXPECT_THAT([&] { load_ucr_fit_data(o); },
              ThrowsMessage<InputError>(HasSubstr("--data.split_ratio")));
  o.split_ratio = 0.85;
  o.val_dataset_path = dir.write("short.tsv", ucr_text(4, 5, 1, 2));
  EXPECT_THAT([&] { load_ucr_fit_data(o); },
              ThrowsMessage<InputError>(HasSubstr("short.tsv: series have 5 steps")));
  // A test file with a label the model has no class for.
  const std::string extra = dir.write("extra.tsv", ucr_text(6, 6, 1, 3));
  EXPECT_THAT(
      [&] { load_ucr_eval_data(extra, o, 1, 2, 0.0, 1.0); },
      ThrowsMessage<InputError>(HasSubstr("extra.tsv: label 3 is outside the classes 1..2")));
}

TEST(ClassWeights, InverseFrequencyNormalisedToTheClassCountAndClipped) {
  // ECG5000's training labels: 292/177/10/19/2.
  std::vector<int64_t> labels;
  const int64_t counts[] = {292, 177, 10, 19, 2};
  for (int64_t k = 0; k < 5; ++k)
    labels.insert(labels.end(), counts[k], k);
  const auto weights = inverse_frequency_weights(torch::tensor(labels), 5);
  double inverse_sum = 0;
  for (int64_t n : counts)
    inverse_sum += 1.0 / static_cast<double>(n);
  for (int64_t k = 0; k < 5; ++k) {
    const double expected =
        std::clamp(5.0 / static_cast<double>(counts[k]) / inverse_sum, 0.1, 10.0);
    EXPECT_NEAR(weights[k], expected, 1e-12) << k;
  }
  EXPECT_DOUBLE_EQ(weights[0], 0.1) << "the largest class is clipped";
  const auto balanced = inverse_frequency_weights(torch::tensor({0, 1, 2, 0, 1, 2}), 3);
  for (double w : balanced)
    EXPECT_NEAR(w, 1.0, 1e-12);
}

}  // namespace
}  // namespace ssmkit::data
