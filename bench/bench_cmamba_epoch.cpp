// Seconds per ETTh1 training epoch of CMamba at the anchor configuration (patch 16 / stride 8,
// d_model 128, d_ff 128, 3 layers, dropout 0.1, channel mixup sigma 1, GDD-MLP with avg + max
// pooling and reduction 2; batch 64, lookback 96, horizon 96, 7 channels, Adam 5e-4, MAE), timed
// through the same Trainer, batch source and channel mixup that train_c_mamba uses, on the CPU with
// each requested thread count and on CUDA when available, for each requested encoder (cmamba, st)
// and, on CUDA, step mode (graph, plain, ...); compared with the official code's epoch on the same
// kinds of machine (docs/anchors: 211 s on the 2-core CPU, 4.4 s on the H200).
#include <torch/torch.h>
#include <cxxopts.hpp>

#include <cstdio>
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

#include "bench_flags.h"
#include "ssmkit/data/channel_mixup_batch_source.h"
#include "ssmkit/data/forecast_npz.h"
#include "ssmkit/data/tensor_batch_source.h"
#include "ssmkit/models/cmamba.h"
#include "ssmkit/train/optimizer_factory.h"
#include "ssmkit/train/seed.h"
#include "ssmkit/train/trainer.h"
#include "ssmkit/util/threads.h"

namespace {

using namespace ssmkit;

// The anchor protocol: 8449 ETTh1 training windows in full batches of 64 = 132 steps.
constexpr int64_t kTrainWindows = 8449;
constexpr int64_t kBatch = 64;
constexpr int64_t kStepsPerEpoch = kTrainWindows / kBatch;
constexpr double kLearningRate = 5e-4;
constexpr uint64_t kSeed = 2021;
// Official CMamba epoch times (docs/anchors) and the goal of at least 4x faster.
constexpr double kAnchorEpochCpuS = 211.0;
constexpr double kAnchorEpochGpuS = 4.4;
constexpr double kGoalSpeedup = 4.0;

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');)
    items.push_back(item);
  return items;
}

struct EpochTiming {
  int64_t steps = 0;
  double seconds = 0;        // wall time of those steps (the trainer's epoch time)
  double cpu_seconds = 0;    // CPU time of the process meanwhile, all threads: on a busy machine
                             // it shows how much of the wall time the program actually ran
  double epoch_seconds = 0;  // projected to kStepsPerEpoch steps
  double train_loss = 0;
};

// One training epoch over `inputs`/`targets` (only the first `steps` batches when steps > 0). On
// CUDA a first, untimed epoch warms up (library handles, CUDA-graph capture) and the second is
// timed, so the figure is the steady-state epoch of a run.
EpochTiming time_epoch(const at::Tensor& inputs,   // (N, 96, 7)
                       const at::Tensor& targets,  // (N, 96, 7)
                       const std::string& device, const std::string& encoder,
                       const std::string& step_mode, int64_t steps) {
  train::seed_everything(kSeed);
  models::CMambaOptions options;  // the anchor configuration
  options.encoder = encoder;
  auto model = train::wrap_module(models::CMamba(options));
  train::OptimizerConfig adam;
  adam.name = "adam";
  adam.lr = kLearningRate;
  auto optimizer = train::make_optimizer(adam, model->named_parameters());
  train::TrainerConfig config;
  const bool warm_up = device != "cpu";
  config.epochs = warm_up ? 2 : 1;
  config.device = device;
  config.step = step_mode;
  config.progress = "off";
  config.early_stopping.monitor = "train_loss";
  train::Trainer trainer(config, *model, *optimizer,
                         [](const at::Tensor& outputs, const at::Tensor& targets) {
                           return torch::l1_loss(outputs, targets);
                         });
  const int64_t windows = steps > 0 ? std::min(inputs.size(0), steps * kBatch) : inputs.size(0);
  data::TensorBatchSourceOptions batches;
  batches.batch_size = kBatch;
  batches.shuffle = true;
  batches.drop_last = true;
  batches.seed = kSeed;
  data::TensorBatchSource source(inputs.narrow(0, 0, windows), targets.narrow(0, 0, windows),
                                 batches);
  data::ChannelMixupBatchSource mixed(source, options.sigma, kSeed);
  const std::clock_t cpu_start = std::clock();
  trainer.fit(mixed);
  // Per epoch; on CUDA the mean of the warm-up and the timed epoch.
  const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) /
                             static_cast<double>(CLOCKS_PER_SEC) /
                             static_cast<double>(config.epochs);
  const train::EpochSummary& epoch = trainer.log().epochs.back();
  EpochTiming timing;
  timing.steps = source.num_batches();
  timing.seconds = epoch.seconds;
  timing.cpu_seconds = cpu_seconds;
  timing.epoch_seconds =
      epoch.seconds * static_cast<double>(kStepsPerEpoch) / static_cast<double>(timing.steps);
  timing.train_loss = epoch.train_loss;
  return timing;
}

void print_row(const std::string& device, int threads, const std::string& encoder,
               const std::string& step_mode, const EpochTiming& t, double anchor) {
  const double speedup = anchor / t.epoch_seconds;
  std::printf("%-6s | %7d | %-7s | %-5s | %5lld | %9.2f | %9.2f | %9.2f | %8.1f | %7.2fx | %s\n",
              device.c_str(), threads, encoder.c_str(), step_mode.c_str(),
              static_cast<long long>(t.steps), t.seconds, t.cpu_seconds, t.epoch_seconds, anchor,
              speedup, speedup >= kGoalSpeedup ? "yes" : "no");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options cli("bench_cmamba_epoch",
                       "CMamba seconds per ETTh1 training epoch at the anchor configuration");
  // clang-format off
  cli.add_options()
      ("data", "prepare_data .npz of ETTh1 (96 -> 96); default: random windows of its size",
       cxxopts::value<std::string>()->default_value(""))
      ("threads", "comma-separated CPU thread counts", cxxopts::value<std::string>()->default_value("1,2"))
      ("steps", "time this many steps and project the epoch (0: the whole epoch)",
       cxxopts::value<int64_t>()->default_value("0"))
      ("cuda", "also time CUDA when available", cxxopts::value<bool>()->default_value("true"))
      ("encoders", "comma-separated encoders: cmamba, st", cxxopts::value<std::string>()->default_value("cmamba"))
      ("cuda_steps", "comma-separated step modes timed on CUDA: graph, fused, plain",
       cxxopts::value<std::string>()->default_value("graph,plain"))
      ("h,help", "this help");
  // clang-format on
  const cxxopts::ParseResult args = ssmkit::bench::parse_flags_or_exit(cli, argc, argv);
  const models::CMambaOptions anchor;
  at::Tensor inputs, targets;  // (N, 96, 7)
  const std::string data_path = args["data"].as<std::string>();
  if (!data_path.empty()) {
    const auto data = data::load_forecast_npz(data_path, {"train"});
    inputs = data.split("train").inputs;
    targets = data.split("train").targets;
  } else {
    auto generator = at::detail::createCPUGenerator(kSeed);
    inputs = torch::randn({kTrainWindows, anchor.seq_len, anchor.enc_in}, generator);
    targets = torch::randn({kTrainWindows, anchor.pred_len, anchor.enc_in}, generator);
  }
  const int64_t steps = args["steps"].as<int64_t>();
  std::printf("CMamba training epoch, anchor config, %lld windows (%s), batch %lld\n",
              static_cast<long long>(inputs.size(0)),
              data_path.empty() ? "random" : data_path.c_str(), static_cast<long long>(kBatch));
  std::printf("%-6s | %7s | %-7s | %-5s | %5s | %9s | %9s | %9s | %8s | %8s | %s\n", "device",
              "threads", "encoder", "steps", "count", "seconds", "cpu s", "epoch s", "anchor s",
              "speed-up", ">= 4x");
  for (const std::string& encoder : split_list(args["encoders"].as<std::string>())) {
    for (const std::string& threads : split_list(args["threads"].as<std::string>())) {
      init_threads(std::stoi(threads));
      print_row("cpu", std::stoi(threads), encoder, "plain",
                time_epoch(inputs, targets, "cpu", encoder, "plain", steps), kAnchorEpochCpuS);
    }
    if (args["cuda"].as<bool>() && torch::cuda::is_available()) {
      for (const std::string& mode : split_list(args["cuda_steps"].as<std::string>())) {
        print_row("cuda", 0, encoder, mode,
                  time_epoch(inputs, targets, "cuda", encoder, mode, steps), kAnchorEpochGpuS);
      }
    }
  }
  return 0;
}
