// Data-parallel training on two processes (Gloo, this machine): 2 ranks x batch 4 train to the
// same weights as 1 rank x batch 8 (1e-6), with Adam and with SGD, for a small MLP, a Mamba
// stack and CMamba, with plain and fused steps, gradient buckets that start during backward
// (many small ones, or the default) or one all-reduce after it, and clipping on the global norm,
// from different local seeds (rank 0's weights are broadcast), over an uneven data set whose
// last batches are smaller.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "models/cmamba_fixtures.h"
#include "ssmkit/data/tensor_batch_source.h"
#include "ssmkit/models/cmamba.h"
#include "ssmkit/nn/mamba_layer.h"
#include "ssmkit/train/distributed.h"
#include "ssmkit/train/optimizer_factory.h"
#include "ssmkit/train/trainer.h"
#include "ssmkit/train/training_error.h"
#include "train/train_fixtures.h"

namespace ddp_suite {
namespace {

namespace train = ssmkit::train;
namespace data = ssmkit::data;

constexpr int64_t kExamples = 42;  // 5 full global batches of 8, then one of 2
constexpr int64_t kRankBatch = 4;

enum class Net { kMlp, kMambaStack, kCMamba };

// One equivalence case: a model, an optimizer and how the steps and all-reduces run.
struct Case {
  std::string name;
  Net net;
  std::string optimizer;
  std::string step;        // plain | fused
  double bucket_mb;        // 0: one all-reduce after backward
  double grad_clip = 0.0;  // clipping on the global gradient norm
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"mlp_adam", Net::kMlp, "adam", "plain", 25.0},
      {"mlp_sgd", Net::kMlp, "sgd", "plain", 0.0},
      // Buckets of a few hundred bytes: many all-reduces start while backward runs.
      {"mamba_stack_adam", Net::kMambaStack, "adam", "fused", 0.001, 0.5},
      {"mamba_stack_sgd", Net::kMambaStack, "sgd", "plain", 0.001},
      {"cmamba_adam", Net::kCMamba, "adam", "fused", 25.0, 0.5},
      {"cmamba_sgd", Net::kCMamba, "sgd", "plain", 0.0},
  };
  return all;
}

// Inputs and targets of each model (no dropout anywhere, so no per-rank randomness).
std::pair<at::Tensor, at::Tensor> case_data(Net net) {
  auto generator = at::detail::createCPUGenerator(7);
  switch (net) {
    case Net::kMlp: {
      const at::Tensor x = torch::randn({kExamples, ssmkit::testing::kFeatures}, generator);
      return {x, x.sum(1, true).sin()};
    }
    case Net::kMambaStack: {
      const at::Tensor x = torch::randn({kExamples, 12, 8}, generator);  // (N, L, d_model)
      return {x, x.cumsum(1).sin()};
    }
    case Net::kCMamba: {
      const auto o = ssmkit::testing::tiny_cmamba_options();
      const at::Tensor x = torch::randn({kExamples, o.seq_len, o.enc_in}, generator);
      return {x, x.narrow(1, o.seq_len - o.pred_len, o.pred_len).flip(1).cos()};
    }
  }
  return {};
}

std::unique_ptr<train::TrainableModel> case_model(Net net) {
  switch (net) {
    case Net::kMlp:
      return train::wrap_module(ssmkit::testing::TinyMlp(
          ssmkit::testing::kFeatures, ssmkit::testing::kHidden, 1, /*dropout=*/0.0));
    case Net::kMambaStack: {
      ssmkit::nn::MambaStackOptions o;
      o.mamba.d_model = 8;
      o.mamba.d_state = 4;
      o.n_layers = 2;
      return train::wrap_module(ssmkit::nn::MambaStack(o));
    }
    case Net::kCMamba: {
      auto o = ssmkit::testing::tiny_cmamba_options();
      o.dropout = 0.0;
      o.head_dropout = 0.0;
      o.channel_mixup = false;
      return train::wrap_module(ssmkit::models::CMamba(o));
    }
  }
  return nullptr;
}

// Trains one case for 2 epochs from `init_seed`'s weights, at `lr_scale` times the case's
// learning rate; returns them.
std::vector<at::Tensor> train_case(const Case& c, uint64_t init_seed, int64_t batch, int64_t shard,
                                   int64_t shards, train::DistributedContext* context,
                                   double lr_scale = 1.0) {
  torch::manual_seed(static_cast<int64_t>(init_seed));
  auto model = case_model(c.net);
  train::OptimizerConfig config;
  config.name = c.optimizer;
  // Adam moves every weight by about lr whatever its gradient, so float32 rounding in a tiny
  // gradient shows at the scale of lr: a small one keeps that under the tolerance.
  config.lr = (c.optimizer == "sgd" ? 0.05 : 0.002) * lr_scale;
  config.momentum = c.optimizer == "sgd" ? 0.9 : 0.0;
  auto optimizer = train::make_optimizer(config, model->named_parameters());
  train::TrainerConfig trainer_config;
  trainer_config.epochs = 2;
  trainer_config.progress = "off";
  trainer_config.step = c.step;
  trainer_config.grad_clip_norm = c.grad_clip;
  trainer_config.dist_bucket_mb = c.bucket_mb;
  train::Trainer trainer(trainer_config, *model, *optimizer, ssmkit::testing::mse);
  if (context != nullptr) trainer.set_distributed(*context);
  const auto [inputs, targets] = case_data(c.net);
  data::TensorBatchSourceOptions batches;
  batches.batch_size = batch;
  batches.shuffle = true;
  batches.seed = 5;
  batches.shard = {shard, shards, /*drop_uneven=*/true};
  data::TensorBatchSource source(inputs, targets, batches);
  trainer.fit(source);
  if (context != nullptr && c.bucket_mb > 0 && c.bucket_mb < 0.01) {
    EXPECT_GT(trainer.gradient_buckets()->bucket_count(), 4) << c.name;
    EXPECT_GT(trainer.gradient_buckets()->overlapped_buckets(), 0) << c.name;
  }
  std::vector<at::Tensor> out;
  for (const auto& p : model->parameters())
    out.push_back(p.detach().clone());
  return out;
}

std::vector<double> flat_values(const std::vector<at::Tensor>& weights) {
  std::vector<double> values;
  for (const auto& w : weights) {
    const at::Tensor flat = w.flatten().to(torch::kFloat64).contiguous();
    values.insert(values.end(), flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
  }
  return values;
}

// The worker half of TwoRanksTrainLikeOneRankWithTwiceTheBatch.
TEST(DataParallelWorker, TrainsItsShard) {
  const char* out = std::getenv("SSMKIT_TEST_DDP_OUT");
  if (out == nullptr)
    GTEST_SKIP() << "started by DataParallel.TwoRanksTrainLikeOneRankWithTwiceTheBatch";
  const auto env = train::DistributedEnvironment::from_environment();
  train::DistributedContext context =
      train::DistributedContext::join(env, "gloo", torch::kCPU, std::chrono::seconds(30));
  for (const Case& c : cases()) {
    // A different local seed per rank: only the broadcast makes the starting weights agree.
    const auto weights = train_case(c, 100 + context.rank(), kRankBatch, context.rank(),
                                    context.world_size(), &context);
    std::ofstream file(std::string(out) + "/" + c.name + "_rank" + std::to_string(context.rank()) +
                       ".txt");
    file.precision(17);
    for (double v : flat_values(weights))
      file << v << "\n";
  }
  // Ranks that step with different learning rates (a misconfigured rank) end apart: the check
  // at the end of fit stops the run on every rank, naming the rank.
  std::ofstream diverged(std::string(out) + "/diverged_rank" + std::to_string(context.rank()) +
                         ".txt");
  try {
    train_case(cases()[0], 100, kRankBatch, context.rank(), context.world_size(), &context,
               context.rank() == 0 ? 1.0 : 2.0);
    diverged << "no error";
  } catch (const train::TrainingError& e) {
    diverged << e.what();
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
  for (const Case& c : cases()) {
    // Rank 0's seed, the global batch, no shards.
    const auto expected = flat_values(train_case(c, 100, 2 * kRankBatch, 0, 1, nullptr));
    for (int rank = 0; rank < 2; ++rank) {
      const auto got = read_numbers(dir.file(c.name + "_rank" + std::to_string(rank) + ".txt"));
      ASSERT_EQ(got.size(), expected.size()) << c.name << " rank " << rank;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_NEAR(got[i], expected[i], 1e-6 * (1.0 + std::abs(expected[i])))
            << c.name << " rank " << rank << " #" << i;
      }
    }
  }
  for (int rank = 0; rank < 2; ++rank) {
    std::ifstream in(dir.file("diverged_rank" + std::to_string(rank) + ".txt"));
    const std::string message((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    EXPECT_NE(message.find("the ranks' weights differ after training: rank 1 has CRC-32C 0x"),
              std::string::npos)
        << "rank " << rank << ": " << message;
  }
}

}  // namespace
}  // namespace ddp_suite
