// Data-parallel training on two processes (Gloo, this machine): 2 ranks x batch 4 train to the
// same weights as 1 rank x batch 8, with Adam and with SGD, from different local seeds (rank 0's
// weights are broadcast), over an uneven data set whose last batches are smaller.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "ssmkit/data/tensor_batch_source.h"
#include "ssmkit/train/distributed.h"
#include "ssmkit/train/optimizer_factory.h"
#include "ssmkit/train/trainer.h"
#include "train/train_fixtures.h"

namespace {

namespace train = ssmkit::train;
namespace data = ssmkit::data;

constexpr int64_t kExamples = 42;  // 5 full global batches of 8, then one of 2
constexpr int64_t kRankBatch = 4;

// Trains the tiny MLP (no dropout, so no per-rank randomness) for 2 epochs; returns its weights.
std::vector<at::Tensor> train_tiny(const std::string& optimizer_name, uint64_t init_seed,
                                   int64_t batch, int64_t shard, int64_t shards,
                                   train::DistributedContext* context) {
  torch::manual_seed(static_cast<int64_t>(init_seed));
  ssmkit::testing::TinyMlp net(ssmkit::testing::kFeatures, ssmkit::testing::kHidden, 1,
                               /*dropout=*/0.0);
  auto model = train::wrap_module(net);
  train::OptimizerConfig config;
  config.name = optimizer_name;
  config.lr = 0.05;
  config.momentum = optimizer_name == "sgd" ? 0.9 : 0.0;
  auto optimizer = train::make_optimizer(config, model->named_parameters());
  train::TrainerConfig trainer_config;
  trainer_config.epochs = 2;
  trainer_config.progress = "off";
  trainer_config.step = "plain";
  train::Trainer trainer(trainer_config, *model, *optimizer, ssmkit::testing::mse);
  if (context != nullptr) trainer.set_distributed(*context);
  auto generator = at::detail::createCPUGenerator(7);
  const at::Tensor inputs = torch::randn({kExamples, ssmkit::testing::kFeatures}, generator);
  const at::Tensor targets = inputs.sum(1, true).sin();
  data::TensorBatchSourceOptions batches;
  batches.batch_size = batch;
  batches.shuffle = true;
  batches.seed = 5;
  batches.shard_index = shard;
  batches.shard_count = shards;
  batches.drop_uneven = true;
  data::TensorBatchSource source(inputs, targets, batches);
  trainer.fit(source);
  std::vector<at::Tensor> out;
  for (const auto& p : model->parameters())
    out.push_back(p.detach().clone());
  return out;
}

// The worker half of TwoRanksTrainLikeOneRankWithTwiceTheBatch.
TEST(DataParallelWorker, TrainsItsShard) {
  const char* out = std::getenv("SSMKIT_TEST_DDP_OUT");
  if (out == nullptr)
    GTEST_SKIP() << "started by DataParallel.TwoRanksTrainLikeOneRankWithTwiceTheBatch";
  const auto env = train::DistributedEnvironment::from_environment();
  train::DistributedContext context =
      train::DistributedContext::join(env, "gloo", torch::kCPU, std::chrono::seconds(30));
  for (const char* name : {"adam", "sgd"}) {
    // A different local seed per rank: only the broadcast makes the starting weights agree.
    const auto weights = train_tiny(name, 100 + context.rank(), kRankBatch, context.rank(),
                                    context.world_size(), &context);
    std::ofstream file(std::string(out) + "/" + name + "_rank" + std::to_string(context.rank()) +
                       ".txt");
    file.precision(17);
    for (const auto& w : weights) {
      const at::Tensor flat = w.flatten().to(torch::kFloat64);
      for (int64_t i = 0; i < flat.numel(); ++i)
        file << flat[i].item<double>() << "\n";
    }
  }
}

std::vector<double> read_numbers(const std::string& path) {
  std::ifstream in(path);
  std::vector<double> values;
  double v = 0;
  while (in >> v)
    values.push_back(v);
  return values;
}

TEST(DataParallel, TwoRanksTrainLikeOneRankWithTwiceTheBatch) {
  if (!train::distributed_available()) GTEST_SKIP() << "built without c10d Gloo (libgloo-dev)";
  const ssmkit::testing::TempDir dir;
  const std::string port = std::to_string(29300 + (::getpid() % 250));
  std::string command;
  for (int rank = 0; rank < 2; ++rank) {
    command +=
        "RANK=" + std::to_string(rank) + " WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + port +
        " SSMKIT_TEST_DDP_OUT=" + dir.path().string() + " SSMKIT_NUM_THREADS=1 timeout 120 /proc/" +
        std::to_string(::getpid()) + "/exe --gtest_filter=DataParallelWorker.TrainsItsShard > " +
        dir.file("log" + std::to_string(rank)) + " 2>&1 & ";
  }
  ASSERT_EQ(std::system((command + "wait").c_str()), 0);
  for (const char* name : {"adam", "sgd"}) {
    // Rank 0's seed, the global batch, no shards.
    const auto reference = train_tiny(name, 100, 2 * kRankBatch, 0, 1, nullptr);
    std::vector<double> expected;
    for (const auto& w : reference) {
      const at::Tensor flat = w.flatten().to(torch::kFloat64);
      for (int64_t i = 0; i < flat.numel(); ++i)
        expected.push_back(flat[i].item<double>());
    }
    for (int rank = 0; rank < 2; ++rank) {
      const auto got =
          read_numbers(dir.file(std::string(name) + "_rank" + std::to_string(rank) + ".txt"));
      ASSERT_EQ(got.size(), expected.size()) << name << " rank " << rank;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_NEAR(got[i], expected[i], 1e-6 * (1.0 + std::abs(expected[i])))
            << name << " rank " << rank << " #" << i;
      }
    }
  }
}

}  // namespace
