// The Trainer on CUDA with each step mode: fused steps and CUDA-graph steps (training and
// evaluation recorded and replayed, a last partial batch in a graph of its own, the best weights
// restored before the test pass) train a CMamba forecaster like plain steps do, also under bf16
// autocast and with a moving average of the weights swapped in for validation and the test.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>

#include "models/cmamba_fixtures.h"
#include "ssmkit/data/tensor_batch_source.h"
#include "ssmkit/models/cmamba.h"
#include "ssmkit/train/distributed.h"
#include "ssmkit/train/optimizer_factory.h"
#include "ssmkit/train/seed.h"
#include "ssmkit/train/trainer.h"

namespace {

using namespace ssmkit;

struct TrainingRun {
  train::FitResult result;
  std::vector<at::Tensor> parameters;  // on the CPU
  train::StepMode mode = train::StepMode::kPlain;
};

// 100 windows (the last batch of 16 is partial), 2 epochs (4: the partial batch's own graph is
// recorded in epoch 3 and replayed in 4), validation and test on 40 windows.
TrainingRun train_cmamba(const std::string& step, bool mixed_precision, double ema_decay = 0.0,
                         int64_t epochs = 2, train::DistributedContext* context = nullptr) {
  train::seed_everything(3);
  models::CMambaOptions options = ssmkit::testing::tiny_cmamba_options();
  options.channel_mixup = false;
  auto model = train::wrap_module(models::CMamba(options));
  train::OptimizerConfig adam;
  adam.name = "adam";
  adam.lr = 1e-3;
  auto optimizer = train::make_optimizer(adam, model->named_parameters());
  train::TrainerConfig config;
  config.epochs = epochs;
  config.device = "cuda";
  config.progress = "off";
  config.grad_clip_norm = 1.0;
  config.step = step;
  config.mixed_precision = mixed_precision;
  config.ema_decay = ema_decay;
  train::Trainer trainer(config, *model, *optimizer,
                         [](const at::Tensor& outputs, const at::Tensor& targets) {
                           return torch::l1_loss(outputs, targets);
                         });
  if (context != nullptr) trainer.set_distributed(*context);
  auto generator = at::detail::createCPUGenerator(17);
  const int64_t length = options.seq_len + options.pred_len;
  const auto series =  // (N, L + H, C)
      torch::randn({140, length, options.enc_in}, generator).cumsum(1) * 0.1;
  const auto inputs = series.narrow(1, 0, options.seq_len);
  const auto targets = series.narrow(1, options.seq_len, options.pred_len);
  data::TensorBatchSourceOptions batches;
  batches.batch_size = 16;
  batches.shuffle = true;
  batches.seed = 5;
  data::TensorBatchSource train_set(inputs.narrow(0, 0, 100), targets.narrow(0, 0, 100), batches);
  batches.shuffle = false;
  data::TensorBatchSource held_out(inputs.narrow(0, 100, 40), targets.narrow(0, 100, 40), batches);
  TrainingRun run;
  run.result = trainer.fit(train_set, &held_out, &held_out);
  run.mode = trainer.step_mode();
  for (const auto& p : model->parameters())
    run.parameters.push_back(p.detach().cpu());
  return run;
}

void expect_same_training(const TrainingRun& a, const TrainingRun& b, double tolerance) {
  ASSERT_EQ(a.parameters.size(), b.parameters.size());
  for (size_t i = 0; i < a.parameters.size(); ++i) {
    const double scale = a.parameters[i].abs().max().item<double>() + 1e-6;
    EXPECT_LT((a.parameters[i] - b.parameters[i]).abs().max().item<double>() / scale, tolerance)
        << "parameter " << i;
  }
  EXPECT_NEAR(a.result.test.loss, b.result.test.loss, tolerance * a.result.test.loss);
}

class TrainerCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    spdlog::set_level(spdlog::level::warn);
  }
  void TearDown() override { spdlog::set_level(spdlog::level::info); }
};

TEST_F(TrainerCuda, FusedAndGraphStepsTrainLikePlainSteps) {
  const TrainingRun plain = train_cmamba("plain", false);
  const TrainingRun fused = train_cmamba("fused", false);
  const TrainingRun graph = train_cmamba("graph", false);
  EXPECT_EQ(plain.mode, train::StepMode::kPlain);
  EXPECT_EQ(fused.mode, train::StepMode::kFused);
  EXPECT_EQ(graph.mode, train::StepMode::kGraph);  // no fallback: the capture worked
  expect_same_training(plain, fused, 1e-3);
  expect_same_training(plain, graph, 1e-3);
}

// A data-parallel run of one GPU (as `ssmkit_run --nproc_per_node 1` starts it): the NCCL
// process group broadcasts the weights and all-reduces the loss and the gradient buckets from
// autograd hooks, on CUDA streams; with one rank the average is the gradient itself.
TEST_F(TrainerCuda, OneRankOverNcclTrainsLikeNoProcessGroup) {
  train::DistributedEnvironment env;
  env.present = true;
  env.master_addr = "127.0.0.1";
  env.master_port = 29000 + ::getpid() % 500;
  train::DistributedContext nccl = train::DistributedContext::join(
      env, "nccl", torch::Device(torch::kCUDA, 0), std::chrono::seconds(60));
  ASSERT_EQ(nccl.backend(), "nccl");
  ASSERT_TRUE(nccl.has_group());
  const TrainingRun alone = train_cmamba("fused", false);
  const TrainingRun grouped = train_cmamba("fused", false, 0.0, 2, &nccl);
  EXPECT_EQ(grouped.mode, train::StepMode::kFused);
  expect_same_training(alone, grouped, 1e-5);
  // With bf16 autocast and the weight average, and graph steps asked for (they run fused: the
  // all-reduces start from autograd hooks, outside graphs).
  const TrainingRun alone_amp = train_cmamba("fused", true, 0.9);
  const TrainingRun grouped_amp = train_cmamba("graph", true, 0.9, 2, &nccl);
  EXPECT_EQ(grouped_amp.mode, train::StepMode::kFused);
  expect_same_training(alone_amp, grouped_amp, 1e-3);
}

TEST_F(TrainerCuda, AnEpochsLastPartialBatchGetsItsOwnGraphAndTrainsLikePlainSteps) {
  const TrainingRun plain = train_cmamba("plain", false, 0.0, 4);
  const TrainingRun graph = train_cmamba("graph", false, 0.0, 4);
  EXPECT_EQ(graph.mode, train::StepMode::kGraph);
  expect_same_training(plain, graph, 1e-3);
}

TEST_F(TrainerCuda, GraphStepsUnderBf16AutocastTrainLikePlainOnes) {
  const TrainingRun plain = train_cmamba("plain", true);
  const TrainingRun graph = train_cmamba("graph", true);
  EXPECT_EQ(graph.mode, train::StepMode::kGraph);
  expect_same_training(plain, graph, 2e-2);
}

// The average is swapped into the parameters in place: the graphs recorded on the raw weights
// then validate and test the averaged ones, as plain steps do.
TEST_F(TrainerCuda, GraphStepsWithAWeightAverageTrainLikePlainOnes) {
  const TrainingRun plain = train_cmamba("plain", false, 0.9);
  const TrainingRun graph = train_cmamba("graph", false, 0.9);
  EXPECT_EQ(graph.mode, train::StepMode::kGraph);
  expect_same_training(plain, graph, 1e-3);
  const TrainingRun raw = train_cmamba("plain", false);
  EXPECT_NE(plain.result.test.loss, raw.result.test.loss);  // the test saw the average
}

}  // namespace
