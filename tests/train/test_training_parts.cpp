// Early stopping, gradient clipping, weight statistics, progress display, run folders, the metrics
// stream and device selection.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "ssmkit/io/error.h"
#include "ssmkit/metrics/weight_statistics.h"
#include "ssmkit/report/metrics_stream.h"
#include "ssmkit/report/progress_bar.h"
#include "ssmkit/train/device.h"
#include "ssmkit/train/early_stopping.h"
#include "ssmkit/train/gradient_clipping.h"
#include "ssmkit/train/run_directory.h"
#include "ssmkit/train/trainable_model.h"
#include "ssmkit/train/weight_checksum.h"
#include "train/train_fixtures.h"

namespace {

using nlohmann::json;
using namespace ssmkit::train;
using namespace ssmkit::report;
using namespace ssmkit::metrics;
using ssmkit::testing::TempDir;

TEST(EarlyStopping, StopsAfterPatienceEpochsWithoutImprovementBeyondMinDelta) {
  EarlyStopping stop(EarlyStoppingConfig::from_json({{"patience", 2}, {"min_delta", 0.1}}));
  EXPECT_TRUE(stop.update(1, 1.0));
  EXPECT_FALSE(stop.update(2, 0.95));  // better, but not by more than min_delta
  EXPECT_FALSE(stop.should_stop());
  EXPECT_TRUE(stop.update(3, 0.85));
  EXPECT_EQ(stop.best_epoch(), 3);
  EXPECT_FALSE(stop.update(4, std::nan("")));  // non-finite never improves
  EXPECT_FALSE(stop.update(5, 0.9));
  EXPECT_TRUE(stop.should_stop());
  EXPECT_DOUBLE_EQ(stop.best(), 0.85);
}

TEST(EarlyStopping, MaxModeAndZeroPatienceNeverStops) {
  EarlyStopping stop(
      EarlyStoppingConfig::from_json({{"monitor", "val_accuracy"}, {"mode", "max"}}));
  EXPECT_TRUE(stop.update(1, 0.5));
  EXPECT_FALSE(stop.update(2, 0.4));
  EXPECT_TRUE(stop.update(3, 0.6));
  for (int e = 4; e < 50; ++e)
    stop.update(e, 0.1);
  EXPECT_FALSE(stop.should_stop());
  EXPECT_EQ(stop.best_epoch(), 3);
}

TEST(EarlyStopping, StateRoundTripsAndChecksTheMonitor) {
  EarlyStopping a(EarlyStoppingConfig::from_json({{"patience", 3}}));
  a.update(1, 2.0);
  a.update(2, 2.5);
  EarlyStopping b(EarlyStoppingConfig::from_json({{"patience", 3}}));
  b.load_state_dict(json::parse(a.state_dict().dump()));
  EXPECT_EQ(b.best_epoch(), 1);
  EXPECT_EQ(b.epochs_without_improvement(), 1);
  EarlyStopping other(EarlyStoppingConfig::from_json({{"monitor", "train_loss"}}));
  EXPECT_THROW(other.load_state_dict(a.state_dict()), ssmkit::InputError);
}

TEST(GradientClipping, NormMatchesFloat64ReferenceAndClipsToMaxNorm) {
  std::vector<torch::Tensor> params = {torch::randn({3, 4}, torch::requires_grad()),
                                       torch::randn({5}, torch::requires_grad()),
                                       torch::randn({2}, torch::requires_grad())};
  params[0].mutable_grad() = torch::randn({3, 4}) * 3;
  params[1].mutable_grad() = torch::randn({5}) * 3;  // params[2] has no gradient: skipped
  double sum_sq = 0;
  for (int i = 0; i < 2; ++i)
    sum_sq += params[i].grad().to(torch::kFloat64).pow(2).sum().item<double>();
  const double reference = std::sqrt(sum_sq);
  const auto before = params[0].grad().clone();

  EXPECT_NEAR(clip_gradients(params, 1e9), reference, 1e-5 * reference);
  EXPECT_TRUE(torch::equal(params[0].grad(), before));  // below max_norm: untouched
  EXPECT_NEAR(clip_gradients(params, 0.0), reference, 1e-5 * reference);  // 0 = norm only
  EXPECT_TRUE(torch::equal(params[0].grad(), before));

  const double max_norm = reference / 4;
  EXPECT_NEAR(clip_gradients(params, max_norm), reference, 1e-5 * reference);
  EXPECT_NEAR(gradient_norm(params).item<double>(), max_norm, 1e-5 * max_norm);
  EXPECT_TRUE(torch::allclose(params[0].grad(), before * (max_norm / (reference + 1e-6))));
}

TEST(GradientClipping, NonFiniteNormIsReportedAndNothingIsScaled) {
  std::vector<torch::Tensor> params = {torch::randn({4}, torch::requires_grad())};
  params[0].mutable_grad() = torch::tensor({1.0f, NAN, 2.0f, 3.0f});
  const auto before = params[0].grad().clone();
  EXPECT_TRUE(std::isnan(clip_gradients(params, 1.0)));
  EXPECT_TRUE(torch::equal(params[0].grad().nan_to_num(), before.nan_to_num()));
}

TEST(WeightStatistics, MatchManualComputation) {
  torch::OrderedDict<std::string, at::Tensor> params;
  params.insert("w", torch::randn({6, 7}));
  params.insert("one", torch::tensor({2.5f}));
  const auto stats = parameter_statistics(params);
  ASSERT_EQ(stats.size(), 2u);
  const auto w = params["w"].to(torch::kFloat64);
  EXPECT_EQ(stats[0].name, "w");
  EXPECT_NEAR(stats[0].mean, w.mean().item<double>(), 1e-12);
  EXPECT_NEAR(stats[0].std, w.std(/*unbiased=*/false).item<double>(), 1e-12);
  EXPECT_NEAR(stats[0].min, w.min().item<double>(), 0);
  EXPECT_NEAR(stats[0].max, w.max().item<double>(), 0);
  EXPECT_NEAR(stats[0].norm, w.norm().item<double>(), 1e-12);
  EXPECT_EQ(stats[1].std, 0.0);  // one element: defined, zero
  EXPECT_DOUBLE_EQ(to_json(stats)["one"]["mean"].get<double>(), 2.5);

  // Parameters of another dtype and empty ones, after the others.
  params.insert("empty", torch::zeros({0, 3}));
  params.insert("double", torch::tensor({1.0, 3.0}, torch::kFloat64));
  const auto mixed = parameter_statistics(params);
  ASSERT_EQ(mixed.size(), 4u);
  EXPECT_NEAR(mixed[0].mean, stats[0].mean, 1e-15);
  EXPECT_EQ(mixed[2].norm, 0.0);
  EXPECT_EQ(mixed[3].mean, 2.0);
  EXPECT_EQ(mixed[3].std, 1.0);
  EXPECT_EQ(mixed[3].min, 1.0);
  EXPECT_EQ(mixed[3].max, 3.0);
  EXPECT_DOUBLE_EQ(mixed[3].norm, std::sqrt(10.0));
}

TEST(ProgressBar, PlainModePrintsAboutTenLines) {
  std::ostringstream out;
  {
    ProgressBar bar("epoch 1/3", 37, ProgressMode::kLines, out);
    for (int i = 1; i <= 37; ++i)
      bar.update(i, 0.5);
  }
  const std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 10) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("epoch 1/3 100% 37/37 loss 0.5"), std::string::npos) << text;
  EXPECT_NE(text.find("steps/s ETA"), std::string::npos) << text;
}

TEST(ProgressBar, BarModeRedrawsInPlaceAndEndsTheLine) {
  std::ostringstream out;
  ProgressBar bar("e", 5, ProgressMode::kBar, out);
  for (int i = 1; i <= 5; ++i)
    bar.update(i, 1.0);
  bar.finish();
  const std::string text = out.str();
  EXPECT_EQ(text.front(), '\r');
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("5/5"), std::string::npos);
  std::ostringstream off;
  ProgressBar silent("e", 5, ProgressMode::kOff, off);
  silent.update(5, 1.0);
  silent.finish();
  EXPECT_TRUE(off.str().empty());
  EXPECT_THROW(parse_progress_mode("fancy"), ssmkit::InputError);
}

TEST(RunDirectory, CreatesNamedAndTimestampedFoldersAndRefusesToOverwriteARun) {
  TempDir dir;
  const auto named = RunDirectory::create(dir.path(), "exp1");
  EXPECT_TRUE(std::filesystem::is_directory(named.checkpoints_folder()));
  named.write_config({{"seed", 3}});
  EXPECT_EQ(json::parse(std::ifstream(named.file("config.json")))["seed"], 3);
  // A folder without a log or checkpoint can be reused; one with a checkpoint cannot.
  EXPECT_NO_THROW(RunDirectory::create(dir.path(), "exp1"));
  std::ofstream(named.checkpoint("last")) << "x";
  try {
    RunDirectory::create(dir.path(), "exp1");
    FAIL() << "overwrote a run";
  } catch (const ssmkit::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos);
  }
  const auto a = RunDirectory::create(dir.path(), "");
  const auto b = RunDirectory::create(dir.path(), "");
  EXPECT_NE(a.path(), b.path());
  EXPECT_EQ(RunDirectory::of(named.checkpoint("last")).path(), named.path());
  EXPECT_EQ(resolve_checkpoint_path(named.path()), named.checkpoint("last"));
  EXPECT_THROW(resolve_checkpoint_path(a.path()), ssmkit::InputError);
  EXPECT_THROW(resolve_checkpoint_path(dir.file("nope.pt")), ssmkit::InputError);
}

TEST(MetricsStream, ResumeKeepsRecordsUpToTheStepAndDropsHalfLines) {
  TempDir dir;
  const auto path = dir.file("metrics.jsonl");
  {
    auto stream = MetricsStream::create(path);
    for (int step = 1; step <= 6; ++step)
      stream.write({{"type", "batch"}, {"step", step}});
  }
  std::ofstream(path, std::ios::app) << "{\"type\": \"batch\", \"st";  // killed mid-line
  {
    auto stream = MetricsStream::resume(path, 4);
    stream.write({{"type", "batch"}, {"step", 5}, {"again", true}});
  }
  std::ifstream in(path);
  std::string line;
  std::vector<json> records;
  while (std::getline(in, line))
    records.push_back(json::parse(line));
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[3]["step"], 4);
  EXPECT_EQ(records[4]["again"], true);
}

TEST(Device, CpuAutoAndUnavailableCuda) {
  EXPECT_TRUE(resolve_device("cpu").is_cpu());
  EXPECT_THROW(resolve_device("tpu"), ssmkit::InputError);
  EXPECT_THROW(resolve_device("cuda:x"), ssmkit::InputError);
  if (!torch::cuda::is_available()) {
    EXPECT_TRUE(resolve_device("auto").is_cpu());
    try {
      resolve_device("cuda", "--device");
      FAIL() << "cuda accepted without CUDA";
    } catch (const ssmkit::InputError& e) {
      EXPECT_NE(std::string(e.what()).find("CUDA is not available"), std::string::npos);
      EXPECT_NE(std::string(e.what()).find("--device cpu"), std::string::npos);
    }
  }
}

TEST(WeightChecksum, EqualWeightsAgreeAndOneBitDiffers) {
  torch::manual_seed(3);
  ssmkit::testing::TinyMlp a(4, 8, 1, 0.0);
  torch::manual_seed(3);
  ssmkit::testing::TinyMlp b(4, 8, 1, 0.0);
  const auto model_a = wrap_module(a);
  const auto model_b = wrap_module(b);
  const uint32_t checksum = weight_checksum(*model_a);
  EXPECT_EQ(weight_checksum(*model_b), checksum);
  {
    torch::NoGradGuard no_grad;
    at::Tensor first = b->parameters()[0];
    const float value = first.flatten()[5].item<float>();
    first.flatten()[5] = std::nextafter(value, 1e9f);
  }
  EXPECT_NE(weight_checksum(*model_b), checksum);
  EXPECT_EQ(checksum_text(0x1234abcdu), "0x1234abcd");
  EXPECT_EQ(checksum_text(7u), "0x00000007");
}

}  // namespace
