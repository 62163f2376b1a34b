// The training loop end to end on a tiny MLP: exact resume (after a finished run and after a kill
// mid-epoch), reproducibility, non-finite loss and gradient stops, early stopping, testing with
// the best weights, callbacks, clipping, and the contents of training_log.json and metrics.jsonl.
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "ssmkit/io/error.h"
#include "ssmkit/report/metrics_stream_callback.h"
#include "ssmkit/train/checkpoint.h"
#include "ssmkit/train/optimizer_factory.h"
#include "ssmkit/train/run_directory.h"
#include "ssmkit/train/seed.h"
#include "ssmkit/train/trainer.h"
#include "ssmkit/train/training_error.h"
#include "train/train_fixtures.h"

namespace {

using nlohmann::json;
using namespace ssmkit::train;
using namespace ssmkit::metrics;
using ssmkit::testing::TempDir;
using ssmkit::testing::TinyMlp;

constexpr int64_t kTrainExamples = 96;
constexpr int64_t kValExamples = 32;
constexpr int64_t kBatch = 16;
constexpr int64_t kStepsPerEpoch = kTrainExamples / kBatch;

using ssmkit::testing::mse;

struct Data {
  ssmkit::testing::RegressionData train_set = ssmkit::testing::regression_data(kTrainExamples, 1);
  ssmkit::testing::RegressionData val_set = ssmkit::testing::regression_data(kValExamples, 2);
  std::unique_ptr<ssmkit::data::TensorBatchSource> train =
      ssmkit::testing::batches(train_set, kBatch, true);
  std::unique_ptr<ssmkit::data::TensorBatchSource> val =
      ssmkit::testing::batches(val_set, kBatch, false);
};

TrainerConfig trainer_config(int64_t epochs) {
  TrainerConfig c;
  c.epochs = epochs;
  c.progress = "off";
  c.weight_stats_every = 4;
  return c;
}

// Everything a program builds before training, in the order a program builds it.
struct Program {
  TinyMlp net{nullptr};
  std::unique_ptr<ModuleModel> model;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<Trainer> trainer;

  Program(uint64_t seed, const TrainerConfig& config, const json& scheduler,
          const std::string& run_dir, LossFn loss = mse,
          const json& optimizer_config = {{"name", "adamw"}, {"lr", 0.01}}) {
    seed_everything(seed);
    net = TinyMlp(ssmkit::testing::kFeatures, ssmkit::testing::kHidden, 1, /*dropout=*/0.2);
    model = wrap_module(net);
    optimizer =
        make_optimizer(OptimizerConfig::from_json(optimizer_config), model->named_parameters());
    auto sched = make_lr_scheduler(scheduler, *optimizer, {kStepsPerEpoch, config.epochs});
    trainer =
        std::make_unique<Trainer>(config, *model, *optimizer, loss, std::move(sched), run_dir);
    trainer->set_run_config({{"seed", seed}, {"scheduler", scheduler}});
    // metrics.jsonl, as every program has it (cli::TrainingSession adds it).
    trainer->add_callback(std::make_shared<ssmkit::report::MetricsStreamCallback>());
  }
};

// Simulates the program being killed: throws after the given global step.
struct KillAtStep : Callback {
  explicit KillAtStep(int64_t step) : step(step) {}
  void on_batch_end(const StepInfo& info) override {
    if (info.step == step) throw std::runtime_error("simulated kill");
  }
  int64_t step;
};

std::vector<json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> records;
  std::string line;
  while (std::getline(in, line))
    records.push_back(json::parse(line));  // throws on a bad line
  return records;
}

std::vector<json> of_type(const std::vector<json>& records, const std::string& type) {
  std::vector<json> out;
  for (const auto& r : records) {
    if (r["type"] == type) out.push_back(r);
  }
  return out;
}

void expect_same_optimizer_state(const torch::optim::Optimizer& a,
                                 const torch::optim::Optimizer& b) {
  const auto sa = optimizer_state_tensors(a);
  const auto sb = optimizer_state_tensors(b);
  ASSERT_EQ(sa.size(), sb.size());
  ASSERT_FALSE(sa.empty());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].first, sb[i].first);
    EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
  }
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    level_ = spdlog::get_level();
    spdlog::set_level(spdlog::level::warn);
  }
  void TearDown() override { spdlog::set_level(level_); }
  spdlog::level::level_enum level_ = spdlog::level::info;
};

// 4 epochs uninterrupted against 2 epochs, then a resume to 4: bitwise the same weights,
// optimizer state, learning rate and logged history.
TEST_F(TrainerTest, ResumeAfterTwoEpochsMatchesAnUninterruptedRun) {
  const json scheduler = {{"name", "plateau"}, {"patience", 0}, {"factor", 0.5}};
  TempDir dir;
  Data d1;
  Program full(7, trainer_config(4), scheduler, dir.file("full"));
  full.trainer->fit(*d1.train, d1.val.get());

  Data d2;
  {
    Program first(7, trainer_config(2), scheduler, dir.file("split"));
    first.trainer->fit(*d2.train, d2.val.get());
  }
  Program second(12345, trainer_config(4), scheduler, dir.file("split"));  // other seed, other init
  second.trainer->resume(dir.file("split"));
  const auto result = second.trainer->fit(*d2.train, d2.val.get());

  EXPECT_EQ(result.end.epochs_completed, 4);
  EXPECT_EQ(second.trainer->global_step(), 4 * kStepsPerEpoch);
  EXPECT_TRUE(ssmkit::testing::same_parameters(*full.model, *second.model));
  expect_same_optimizer_state(*full.optimizer, *second.optimizer);
  EXPECT_EQ(learning_rate(*full.optimizer), learning_rate(*second.optimizer));
  ASSERT_EQ(second.trainer->log().epochs.size(), 4u);
  for (size_t e = 0; e < 4; ++e) {
    EXPECT_EQ(full.trainer->log().epochs[e].train_loss, second.trainer->log().epochs[e].train_loss);
    EXPECT_EQ(full.trainer->log().epochs[e].val_loss, second.trainer->log().epochs[e].val_loss);
  }
}

// Killed in the middle of epoch 3 (after the epoch-2 checkpoint, with a half-written checkpoint
// file left behind), then resumed: the same weights, and metrics.jsonl holds each step once.
TEST_F(TrainerTest, ResumeAfterAKillMidEpochMatchesAnUninterruptedRun) {
  const json scheduler = {{"name", "cosine"}, {"warmup_steps", 3}, {"min_lr", 1e-4}};
  TempDir dir;
  Data d1;
  Program full(7, trainer_config(4), scheduler, dir.file("full"));
  full.trainer->fit(*d1.train, d1.val.get());

  const RunDirectory split(dir.file("split"));
  Data d2;
  {
    Program killed(7, trainer_config(4), scheduler, split.path());
    killed.trainer->add_callback(std::make_shared<KillAtStep>(2 * kStepsPerEpoch + 3));
    EXPECT_THROW(killed.trainer->fit(*d2.train, d2.val.get()), std::runtime_error);
  }
  EXPECT_EQ(read_checkpoint_state(split.checkpoint("last")).epoch, 2);
  std::ofstream(split.checkpoint("last") + ".tmp.999.1") << "partial";  // killed during a write

  Program resumed(99, trainer_config(4), scheduler, split.path());
  resumed.trainer->resume(split.path());
  resumed.trainer->fit(*d2.train, d2.val.get());

  EXPECT_TRUE(ssmkit::testing::same_parameters(*full.model, *resumed.model));
  expect_same_optimizer_state(*full.optimizer, *resumed.optimizer);
  EXPECT_FALSE(std::filesystem::exists(split.checkpoint("last") + ".tmp.999.1"));

  const auto a = of_type(read_jsonl(dir.file("full/metrics.jsonl")), "batch");
  const auto b = of_type(read_jsonl(split.file("metrics.jsonl")), "batch");
  ASSERT_EQ(a.size(), static_cast<size_t>(4 * kStepsPerEpoch));
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(b[i]["step"], static_cast<int64_t>(i) + 1);
    EXPECT_EQ(b[i]["loss"], a[i]["loss"]) << "step " << i + 1;
    EXPECT_EQ(b[i]["lr"], a[i]["lr"]) << "step " << i + 1;
  }
  EXPECT_EQ(of_type(read_jsonl(split.file("metrics.jsonl")), "epoch").size(), 4u);
}

TEST_F(TrainerTest, SameSeedIsBitReproducibleOtherSeedIsNot) {
  auto train = [](uint64_t seed) {
    Data d;
    auto run = std::make_unique<Program>(seed, trainer_config(2), json{{"name", "constant"}}, "");
    run->trainer->fit(*d.train, d.val.get());
    return run;
  };
  const auto a = train(3);
  const auto b = train(3);
  const auto c = train(4);
  EXPECT_TRUE(ssmkit::testing::same_parameters(*a->model, *b->model));
  EXPECT_FALSE(ssmkit::testing::same_parameters(*a->model, *c->model));
}

TEST_F(TrainerTest, NonFiniteLossStopsNamingEpochAndStepAndKeepsTheLastGoodCheckpoint) {
  TempDir dir;
  Data d;
  // Loss calls per epoch: 6 training batches, then 2 validation batches. Call 11 is epoch 2's
  // third training batch, global step 9.
  auto calls = std::make_shared<int>(0);
  LossFn poisoned = [calls](const at::Tensor& outputs, const at::Tensor& targets) {
    const auto loss = torch::mse_loss(outputs, targets);
    return ++*calls == 11 ? loss * std::numeric_limits<float>::quiet_NaN() : loss;
  };
  Program run(1, trainer_config(4), {{"name", "constant"}}, dir.path(), poisoned);
  struct Snapshot : Callback {
    explicit Snapshot(TrainableModel& m) : model(m) {}
    void on_epoch_end(const EpochSummary&) override {
      weights.clear();
      for (const auto& p : model.parameters())
        weights.push_back(p.detach().clone());
    }
    TrainableModel& model;
    std::vector<at::Tensor> weights;
  };
  auto snapshot = std::make_shared<Snapshot>(*run.model);
  run.trainer->add_callback(snapshot);
  try {
    run.trainer->fit(*d.train, d.val.get());
    FAIL() << "NaN loss did not stop training";
  } catch (const TrainingError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("non-finite loss (nan) at epoch 2, step 9 (batch 3 of 6)"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("last.pt (epoch 1)"), std::string::npos) << msg;
  }
  for (const auto& p : run.model->parameters())
    EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
  const auto log = json::parse(std::ifstream(dir.file("training_log.json")));
  EXPECT_EQ(log["status"], "failed");
  EXPECT_NE(log["message"].get<std::string>().find("non-finite loss"), std::string::npos);

  // The checkpoint holds the weights of the end of epoch 1.
  Program fresh(2, trainer_config(4), {{"name", "constant"}}, "");
  EXPECT_EQ(load_checkpoint(dir.file("checkpoints/last.pt"), *fresh.model, fresh.optimizer.get(),
                            torch::kCPU, false)
                .epoch,
            1);
  const auto loaded = fresh.model->parameters();
  ASSERT_EQ(loaded.size(), snapshot->weights.size());
  for (size_t i = 0; i < loaded.size(); ++i)
    EXPECT_TRUE(torch::equal(loaded[i], snapshot->weights[i]));
}

TEST_F(TrainerTest, NonFiniteGradientStopsTraining) {
  Data d;
  // Finite loss (0) whose gradient is NaN: d/dx sqrt(|x|) at 0.
  LossFn bad_gradient = [](const at::Tensor& outputs, const at::Tensor&) {
    return torch::sqrt((outputs - outputs.detach()).abs().sum());
  };
  Program run(1, trainer_config(1), {{"name", "constant"}}, "", bad_gradient);
  try {
    run.trainer->fit(*d.train);
    FAIL() << "NaN gradient did not stop training";
  } catch (const TrainingError& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite gradient norm"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("no checkpoint was written yet"), std::string::npos);
  }
}

// A metric that follows a script, to drive early stopping and best-epoch selection.
std::shared_ptr<EvaluationMetrics> scripted_score(std::vector<double> scores) {
  auto epoch = std::make_shared<size_t>(0);
  return std::make_shared<CollectingMetrics>(
      [scores, epoch](const at::Tensor& outputs, const at::Tensor& targets) {
        std::map<std::string, double> out = {
            {"mse", torch::mse_loss(outputs, targets.to(torch::kFloat32)).item<double>()}};
        out["score"] = *epoch < scores.size() ? scores[*epoch] : 0.0;
        ++*epoch;
        return out;
      });
}

TEST_F(TrainerTest, EarlyStoppingStopsAndTheTestUsesTheBestCheckpoint) {
  TempDir dir;
  Data d;
  auto config = trainer_config(10);
  config.early_stopping =
      EarlyStoppingConfig::from_json({{"monitor", "val_score"}, {"patience", 2}});
  Program run(5, config, {{"name", "constant"}}, dir.path());
  run.trainer->set_evaluation_metrics(scripted_score({3, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11}));
  const auto test_set = ssmkit::testing::regression_data(40, 3);
  auto test = ssmkit::testing::batches(test_set, kBatch, false);
  const auto result = run.trainer->fit(*d.train, d.val.get(), test.get());

  EXPECT_EQ(result.end.status, "stopped_early");
  EXPECT_EQ(result.end.epochs_completed, 4);
  EXPECT_EQ(result.end.best_epoch, 2);
  EXPECT_EQ(result.end.best_value, 1.0);
  EXPECT_EQ(read_checkpoint_state(dir.file("checkpoints/best.pt")).epoch, 2);
  EXPECT_EQ(read_checkpoint_state(dir.file("checkpoints/last.pt")).epoch, 4);
  EXPECT_EQ(result.test.phase, "test");
  EXPECT_EQ(result.test.examples, 40);
  EXPECT_TRUE(result.test.metrics.count("test_mse"));

  // The model now holds best.pt's weights and the test loss is theirs.
  Program best(6, config, {{"name", "constant"}}, "");
  load_checkpoint(dir.file("checkpoints/best.pt"), *best.model, nullptr, torch::kCPU, false);
  EXPECT_TRUE(ssmkit::testing::same_parameters(*run.model, *best.model));
  EXPECT_DOUBLE_EQ(best.trainer->evaluate(*test, "test").loss, result.test.loss);
  const auto log = json::parse(std::ifstream(dir.file("training_log.json")));
  EXPECT_EQ(log["status"], "stopped_early");
  EXPECT_EQ(log["best_epoch"], 2);
  EXPECT_DOUBLE_EQ(log["test"]["loss"].get<double>(), result.test.loss);
}

TEST_F(TrainerTest, WithoutRunFolderTheBestWeightsAreKeptInMemoryForTheTest) {
  Data d;
  auto config = trainer_config(3);
  config.early_stopping = EarlyStoppingConfig::from_json({{"monitor", "val_score"}});
  Program run(5, config, {{"name", "constant"}}, "");
  run.trainer->set_evaluation_metrics(scripted_score({2, 1, 3}));
  struct AtEpoch2 : Callback {
    explicit AtEpoch2(TrainableModel& m) : model(m) {}
    void on_epoch_end(const EpochSummary& s) override {
      if (s.epoch == 2)
        for (const auto& p : model.parameters())
          weights.push_back(p.detach().clone());
    }
    TrainableModel& model;
    std::vector<at::Tensor> weights;
  };
  auto at2 = std::make_shared<AtEpoch2>(*run.model);
  run.trainer->add_callback(at2);
  run.trainer->fit(*d.train, d.val.get(), d.val.get());
  const auto now = run.model->parameters();
  for (size_t i = 0; i < now.size(); ++i)
    EXPECT_TRUE(torch::equal(now[i], at2->weights[i]));
}

TEST_F(TrainerTest, LogsHoldEpochHistoryAndAParseableMetricsStream) {
  TempDir dir;
  Data d;
  auto config = trainer_config(3);
  config.checkpoint_every = 2;
  const json scheduler = {{"name", "cosine"}, {"warmup_steps", 2}};
  Program run(8, config, scheduler, dir.path());
  run.trainer->set_evaluation_metrics(scripted_score({1, 1, 1}));
  run.trainer->fit(*d.train, d.val.get(), d.val.get());

  const auto log = json::parse(std::ifstream(dir.file("training_log.json")));
  EXPECT_EQ(log["status"], "completed");
  EXPECT_EQ(log["monitor"], "val_loss");
  ASSERT_EQ(log["epochs"].size(), 3u);
  for (int e = 0; e < 3; ++e) {
    const auto& rec = log["epochs"][e];
    EXPECT_EQ(rec["epoch"], e + 1);
    EXPECT_EQ(rec["step"], (e + 1) * kStepsPerEpoch);
    EXPECT_TRUE(rec["train_loss"].is_number());
    EXPECT_TRUE(rec["val_loss"].is_number());
    EXPECT_TRUE(rec["metrics"]["val_mse"].is_number());
    EXPECT_TRUE(rec["lr"].is_number());
  }
  EXPECT_TRUE(log["test"]["loss"].is_number());
  for (const char* name : {"last.pt", "best.pt", "epoch_0002.pt"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.file(std::string("checkpoints/") + name))) << name;
  }

  const auto records = read_jsonl(dir.file("metrics.jsonl"));
  const auto batch = of_type(records, "batch");
  ASSERT_EQ(batch.size(), static_cast<size_t>(3 * kStepsPerEpoch));
  // The logged rate of every step is the schedule's rate for that step.
  Program reference(8, config, scheduler, "");
  reference.trainer->scheduler().start();
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(batch[i]["step"], static_cast<int64_t>(i) + 1);
    EXPECT_DOUBLE_EQ(batch[i]["lr"].get<double>(), reference.trainer->scheduler().lr());
    reference.trainer->scheduler().after_step(static_cast<int64_t>(i) + 1);
    EXPECT_GT(batch[i]["grad_norm"].get<double>(), 0.0);
    EXPECT_TRUE(batch[i]["loss"].is_number());
  }
  EXPECT_EQ(of_type(records, "epoch").size(), 3u);
  // Weight statistics every 4 steps (18 steps: 4) and at each epoch end (3).
  const auto weights = of_type(records, "weights");
  EXPECT_EQ(weights.size(), 7u);
  for (const char* stat : {"mean", "std", "min", "max", "norm"}) {
    EXPECT_TRUE(weights[0]["weights"]["fc1.weight"][stat].is_number()) << stat;
  }
  EXPECT_EQ(of_type(records, "eval").size(), 1u);
}

TEST_F(TrainerTest, CallbacksSeeEveryEventInOrderAndCanStopTraining) {
  Data d;
  struct Recorder : Callback {
    void on_train_begin(const TrainBeginInfo& i) override {
      events.push_back("begin " + std::to_string(i.steps_per_epoch));
    }
    void on_batch_end(const StepInfo& i) override {
      ++batches;
      EXPECT_EQ(i.step, batches);
      EXPECT_EQ(i.batches, kStepsPerEpoch);
      EXPECT_GT(i.lr, 0.0);
      EXPECT_TRUE(std::isfinite(i.grad_norm));
      EXPECT_EQ(i.batch_size, kBatch);
    }
    void on_evaluation_end(const EvaluationResult& r) override { events.push_back(r.phase); }
    void on_epoch_end(const EpochSummary& s) override {
      events.push_back("epoch " + std::to_string(s.epoch));
    }
    void on_train_end(const TrainEndInfo& i) override { events.push_back("end " + i.status); }
    bool should_stop() const override { return events.size() >= 5; }
    std::vector<std::string> events;
    int64_t batches = 0;
  };
  auto recorder = std::make_shared<Recorder>();
  Program run(2, trainer_config(5), {{"name", "constant"}}, "");
  run.trainer->add_callback(recorder);
  const auto result = run.trainer->fit(*d.train, d.val.get());
  EXPECT_EQ(result.end.status, "stopped_by_callback");
  EXPECT_EQ(recorder->events, (std::vector<std::string>{"begin 6", "val", "epoch 1", "val",
                                                        "epoch 2", "end stopped_by_callback"}));
  EXPECT_EQ(recorder->batches, 2 * kStepsPerEpoch);
}

TEST_F(TrainerTest, ClippingBoundsTheUpdateAndTheLoggedNormIsBeforeClipping) {
  Data d;
  auto config = trainer_config(1);
  config.grad_clip_norm = 1e-3;
  const auto one_batch = ssmkit::testing::regression_data(kBatch, 4);
  auto source = ssmkit::testing::batches(one_batch, kBatch, false);
  LossFn loss = [](const at::Tensor& o, const at::Tensor& t) {
    return 100 * torch::mse_loss(o, t);
  };
  Program run(3, config, {{"name", "constant"}}, "", loss, {{"name", "sgd"}, {"lr", 1.0}});
  std::vector<at::Tensor> before;
  for (const auto& p : run.model->parameters())
    before.push_back(p.detach().clone());
  struct Norm : Callback {
    void on_batch_end(const StepInfo& i) override { norm = i.grad_norm; }
    double norm = 0;
  };
  auto norm = std::make_shared<Norm>();
  run.trainer->add_callback(norm);
  run.trainer->fit(*source);
  double moved = 0;
  const auto after = run.model->parameters();
  for (size_t i = 0; i < after.size(); ++i)
    moved += (after[i] - before[i]).to(torch::kFloat64).pow(2).sum().item<double>();
  EXPECT_GT(norm->norm, 1.0);                 // far above the clip threshold
  EXPECT_NEAR(std::sqrt(moved), 1e-3, 2e-5);  // SGD step = lr * clipped gradient
}

TEST_F(TrainerTest, MixedPrecisionFlagIsIgnoredOnTheCpu) {
  auto train = [](bool mixed) {
    Data d;
    auto config = trainer_config(1);
    config.mixed_precision = mixed;
    auto run = std::make_unique<Program>(4, config, json{{"name", "constant"}}, "");
    run->trainer->fit(*d.train);
    return run;
  };
  EXPECT_TRUE(ssmkit::testing::same_parameters(*train(true)->model, *train(false)->model));
}

TEST_F(TrainerTest, ConfigurationErrorsAreClear) {
  Data d;
  auto config = trainer_config(1);
  config.early_stopping.monitor = "val_nope";
  Program run(1, config, {{"name", "constant"}}, "");
  try {
    run.trainer->fit(*d.train, d.val.get());
    FAIL() << "unknown monitor accepted";
  } catch (const ssmkit::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "'val_nope' is not computed in this run; available: train_loss, val_loss"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(TrainerConfig::from_json({{"epochs", 0}}), ssmkit::InputError);
  EXPECT_THROW(TrainerConfig::from_json({{"early_stopping", {{"patiense", 2}}}}),
               ssmkit::InputError);
  const auto c = TrainerConfig::from_json({{"epochs", 3},
                                           {"grad_clip_norm", 1.0},
                                           {"early_stopping", {{"patience", 2}, {"mode", "max"}}}});
  EXPECT_EQ(TrainerConfig::from_json(c.to_json()).to_json(), c.to_json());
  Program fresh(1, trainer_config(1), {{"name", "constant"}}, "");
  TempDir empty;
  EXPECT_THROW(fresh.trainer->resume(empty.path()), ssmkit::InputError);
}

TEST_F(TrainerTest, OutOfHostMemoryStopsWithATrainingError) {
  TempDir dir;
  Data d;
  auto calls = std::make_shared<int>(0);
  LossFn exhausted = [calls](const at::Tensor& outputs, const at::Tensor& targets) {
    if (++*calls == 2) throw std::bad_alloc();
    return torch::mse_loss(outputs, targets);
  };
  Program run(1, trainer_config(2), {{"name", "constant"}}, dir.path(), exhausted);
  try {
    run.trainer->fit(*d.train);
    FAIL() << "bad_alloc was not turned into a TrainingError";
  } catch (const TrainingError& e) {
    EXPECT_NE(std::string(e.what()).find("out of host memory at epoch 1, step 2"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(json::parse(std::ifstream(dir.file("training_log.json")))["status"], "failed");
}

TEST_F(TrainerTest, ConsoleLogShowsTheRunAndOneLinePerEpoch) {
  std::ostringstream captured;
  auto logger = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  logger->set_level(spdlog::level::info);
  logger->set_pattern("%v");
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  Data d;
  auto config = trainer_config(2);
  config.mixed_precision = true;
  Program run(1, config, {{"name", "type1"}}, "");
  run.trainer->fit(*d.train, d.val.get());
  spdlog::set_default_logger(previous);
  const std::string text = captured.str();
  EXPECT_NE(text.find("bf16 autocast) is CUDA-only"), std::string::npos) << text;
  EXPECT_NE(text.find("training 49 parameters on cpu: epochs 1..2, 6 steps per epoch"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("epoch 1/2  train_loss "), std::string::npos) << text;
  EXPECT_NE(text.find("  val_loss "), std::string::npos) << text;
  EXPECT_NE(text.find("  lr 0.01 -> 0.005"), std::string::npos) << text;  // type1 after epoch 2
  EXPECT_NE(text.find("(best)"), std::string::npos) << text;
}

TEST_F(TrainerTest, WithoutValidationTheMonitorFallsBackToTrainLoss) {
  Data d;
  Program run(1, trainer_config(2), {{"name", "constant"}}, "");
  const auto result = run.trainer->fit(*d.train);
  EXPECT_EQ(result.end.monitor, "train_loss");
  EXPECT_GE(result.end.best_epoch, 1);
  EXPECT_TRUE(std::isnan(run.trainer->log().epochs[0].val_loss));
}

// Fused steps (flat parameters, FusedOptimizer) train the same model as plain ones, to rounding,
// with gradient clipping active; a fused run killed and resumed ends bitwise where an
// uninterrupted fused run does; and the test pass after restoring the best weights sees them.
TEST_F(TrainerTest, FusedStepsMatchPlainStepsAndResumeExactly) {
  const json scheduler = {{"name", "cosine"}, {"warmup_steps", 3}, {"min_lr", 1e-4}};
  auto config = trainer_config(4);
  config.grad_clip_norm = 0.5;
  TempDir dir;
  Data d1;
  Program plain(7, config, scheduler, dir.file("plain"));
  const auto plain_result = plain.trainer->fit(*d1.train, d1.val.get(), d1.val.get());

  config.step = "fused";
  Data d2;
  Program fused(7, config, scheduler, dir.file("fused"));
  const auto fused_result = fused.trainer->fit(*d2.train, d2.val.get(), d2.val.get());
  const auto a = plain.model->named_parameters();
  const auto b = fused.model->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::allclose(a[i].value(), b[i].value(), 1e-4, 1e-6)) << a[i].key();
  }
  EXPECT_EQ(plain_result.end.best_epoch, fused_result.end.best_epoch);
  EXPECT_NEAR(plain_result.test.loss, fused_result.test.loss, 1e-4 * plain_result.test.loss);

  const RunDirectory split(dir.file("split"));
  Data d3;
  {
    Program killed(7, config, scheduler, split.path());
    killed.trainer->add_callback(std::make_shared<KillAtStep>(2 * kStepsPerEpoch + 3));
    EXPECT_THROW(killed.trainer->fit(*d3.train, d3.val.get()), std::runtime_error);
  }
  Program resumed(99, config, scheduler, split.path());
  resumed.trainer->resume(split.path());
  const auto resumed_result = resumed.trainer->fit(*d3.train, d3.val.get(), d3.val.get());
  EXPECT_TRUE(ssmkit::testing::same_parameters(*fused.model, *resumed.model));
  expect_same_optimizer_state(*fused.optimizer, *resumed.optimizer);
  EXPECT_EQ(resumed_result.test.loss, fused_result.test.loss);
}

// Records the raw weights after every optimizer step.
struct WeightsAfterEachStep : Callback {
  explicit WeightsAfterEachStep(TrainableModel& m) : model(m) {}
  void on_batch_end(const StepInfo&) override {
    std::vector<at::Tensor> now;
    for (const auto& p : model.parameters())
      now.push_back(p.detach().to(torch::kFloat64));
    steps.push_back(now);
  }
  TrainableModel& model;
  std::vector<std::vector<at::Tensor>> steps;
};

// With trainer.ema_decay the checkpoints carry the moving average of the raw weights (checked in
// float64), validation scores the average, best.pt holds it as its weights and the test uses
// it; a run killed mid-epoch and resumed ends with the same weights and average, and fused steps
// keep the same average as plain ones.
TEST_F(TrainerTest, WeightAverageIsValidatedKeptAsBestAndResumesExactly) {
  const json scheduler = {{"name", "constant"}};
  auto config = trainer_config(3);
  config.ema_decay = 0.8;
  config.checkpoint_every = 1;
  TempDir dir;
  Data d1;
  Program full(7, config, scheduler, dir.file("full"));
  auto recorder = std::make_shared<WeightsAfterEachStep>(*full.model);
  full.trainer->add_callback(recorder);
  const auto test_set = ssmkit::testing::regression_data(40, 3);
  auto test = ssmkit::testing::batches(test_set, kBatch, false);
  const std::vector<at::Tensor> initial = [&] {
    std::vector<at::Tensor> out;
    for (const auto& p : full.model->parameters())
      out.push_back(p.detach().to(torch::kFloat64));
    return out;
  }();
  const auto result = full.trainer->fit(*d1.train, d1.val.get(), test.get());
  ASSERT_EQ(recorder->steps.size(), static_cast<size_t>(3 * kStepsPerEpoch));

  // The float64 reference average at each epoch end, against the epoch checkpoints.
  std::vector<at::Tensor> reference = initial;
  for (int64_t step = 0; step < 3 * kStepsPerEpoch; ++step) {
    const double d = std::min(0.8, (1.0 + step) / (10.0 + step));
    for (size_t i = 0; i < reference.size(); ++i)
      reference[i] = d * reference[i] + (1 - d) * recorder->steps[step][i];
    if ((step + 1) % kStepsPerEpoch != 0) continue;
    char name[32];
    std::snprintf(name, sizeof(name), "checkpoints/epoch_%04lld.pt",
                  static_cast<long long>((step + 1) / kStepsPerEpoch));
    const auto state = read_checkpoint_state(dir.file(std::string("full/") + name));
    ASSERT_EQ(state.tensors.size(), reference.size());
    EXPECT_EQ(state.trainer["weight_average_updates"], step + 1);
    for (size_t i = 0; i < reference.size(); ++i) {
      EXPECT_TRUE(
          torch::allclose(state.tensors[i].second.to(torch::kFloat64), reference[i], 1e-5, 1e-6))
          << name << " " << state.tensors[i].first;
    }
  }

  // best.pt's weights are the average of its epoch; its validation loss is the logged one, and
  // the test ran on them.
  const int64_t best_epoch = result.end.best_epoch;
  char best_name[32];
  std::snprintf(best_name, sizeof(best_name), "checkpoints/epoch_%04lld.pt",
                static_cast<long long>(best_epoch));
  const auto best_state = read_checkpoint_state(dir.file(std::string("full/") + best_name));
  Program best(6, trainer_config(3), scheduler, "");
  load_checkpoint(dir.file("full/checkpoints/best.pt"), *best.model, nullptr, torch::kCPU, false);
  const auto best_weights = best.model->named_parameters();
  for (size_t i = 0; i < best_weights.size(); ++i) {
    EXPECT_EQ(best_weights[i].key(), best_state.tensors[i].first);
    EXPECT_TRUE(torch::equal(best_weights[i].value(), best_state.tensors[i].second));
  }
  Data d_val;
  EXPECT_DOUBLE_EQ(best.trainer->evaluate(*d_val.val, "val").loss,
                   full.trainer->log().epochs[best_epoch - 1].val_loss);
  EXPECT_DOUBLE_EQ(best.trainer->evaluate(*test, "test").loss, result.test.loss);
  EXPECT_TRUE(ssmkit::testing::same_parameters(*full.model, *best.model));

  // Killed in epoch 2 and resumed: the same raw weights and average as an uninterrupted run.
  config.checkpoint_every = 0;
  Data d2;
  Program straight(7, config, scheduler, dir.file("straight"));
  straight.trainer->fit(*d2.train, d2.val.get());
  const RunDirectory split(dir.file("split"));
  Data d3;
  {
    Program killed(7, config, scheduler, split.path());
    killed.trainer->add_callback(std::make_shared<KillAtStep>(kStepsPerEpoch + 2));
    EXPECT_THROW(killed.trainer->fit(*d3.train, d3.val.get()), std::runtime_error);
  }
  Program resumed(99, config, scheduler, split.path());
  resumed.trainer->resume(split.path());
  resumed.trainer->fit(*d3.train, d3.val.get());
  EXPECT_TRUE(ssmkit::testing::same_parameters(*straight.model, *resumed.model));
  const auto a = read_checkpoint_state(dir.file("straight/checkpoints/last.pt")).tensors;
  const auto b = read_checkpoint_state(split.checkpoint("last")).tensors;
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;

  // Fused steps: the same average to rounding.
  config.step = "fused";
  Data d4;
  Program fused(7, config, scheduler, dir.file("fused"));
  fused.trainer->fit(*d4.train, d4.val.get());
  const auto c = read_checkpoint_state(dir.file("fused/checkpoints/last.pt")).tensors;
  ASSERT_EQ(a.size(), c.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::allclose(a[i].second, c[i].second, 1e-4, 1e-6)) << a[i].first;

  EXPECT_THROW(TrainerConfig::from_json({{"ema_decay", 1.0}}), ssmkit::InputError);
  EXPECT_THROW(TrainerConfig::from_json({{"ema_decay", -0.1}}), ssmkit::InputError);
  EXPECT_EQ(TrainerConfig::from_json({{"ema_decay", 0.99}}).to_json()["ema_decay"], 0.99);
}

// A run trained without an average resumes with one (it starts from the resumed weights); saved
// averages that do not fit the model are refused naming the checkpoint.
TEST_F(TrainerTest, ResumeStartsOrRefusesAWeightAverage) {
  const json scheduler = {{"name", "constant"}};
  TempDir dir;
  Data d;
  {
    Program plain(7, trainer_config(1), scheduler, dir.file("plain"));
    plain.trainer->fit(*d.train, d.val.get());
  }
  auto config = trainer_config(2);
  config.ema_decay = 0.9;
  Program averaged(8, config, scheduler, dir.file("plain"));
  averaged.trainer->resume(dir.file("plain"));
  averaged.trainer->fit(*d.train, d.val.get());
  const auto state = read_checkpoint_state(dir.file("plain/checkpoints/last.pt"));
  EXPECT_EQ(state.trainer["weight_average_updates"], kStepsPerEpoch);
  ASSERT_EQ(state.tensors.size(), averaged.model->parameters().size());

  CheckpointState broken = state;
  broken.tensors[0].second = torch::zeros({3});
  const std::string path = dir.file("broken.pt");
  save_checkpoint(path, *averaged.model, averaged.optimizer.get(), broken);
  Program other(9, config, scheduler, dir.file("other"));
  try {
    other.trainer->resume(path);
    ADD_FAILURE() << "no error";
  } catch (const ssmkit::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": weight average"), std::string::npos) << e.what();
  }
}

TEST_F(TrainerTest, StepModeIsCheckedAndGraphFallsBackToFusedOnTheCpu) {
  EXPECT_EQ(parse_step_mode("auto", c10::Device("cpu"), "trainer.step"), StepMode::kPlain);
  EXPECT_EQ(parse_step_mode("auto", c10::Device("cuda:0"), "trainer.step"), StepMode::kGraph);
  EXPECT_EQ(parse_step_mode("graph", c10::Device("cpu"), "trainer.step"), StepMode::kFused);
  try {
    parse_step_mode("fast", c10::Device("cpu"), "trainer.step");
    ADD_FAILURE() << "no error";
  } catch (const ssmkit::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("trainer.step: expected auto, plain, fused or graph"),
              std::string::npos);
  }
  EXPECT_THROW(TrainerConfig::from_json({{"step", "fast"}}), ssmkit::InputError);
  EXPECT_EQ(TrainerConfig::from_json({{"step", "graph"}}).to_json()["step"], "graph");
}

// trainer.float32_matmul_precision sets the process's precision of float32 matrix products, as
// torch.set_float32_matmul_precision does; only PyTorch's three names are accepted.
TEST(TrainerConfigTest, Float32MatmulPrecisionIsPyTorchsSettingAndIsApplied) {
  EXPECT_EQ(TrainerConfig().float32_matmul_precision, "highest");
  EXPECT_THROW(TrainerConfig::from_json({{"float32_matmul_precision", "tf32"}}),
               ssmkit::InputError);
  const auto high = TrainerConfig::from_json({{"float32_matmul_precision", "high"}});
  EXPECT_EQ(TrainerConfig::from_json(high.to_json()).float32_matmul_precision, "high");
  apply_float32_matmul_precision(high);
  EXPECT_EQ(at::globalContext().float32MatmulPrecision(), at::Float32MatmulPrecision::HIGH);
  apply_float32_matmul_precision(TrainerConfig());
  EXPECT_EQ(at::globalContext().float32MatmulPrecision(), at::Float32MatmulPrecision::HIGHEST);
}

}  // namespace
