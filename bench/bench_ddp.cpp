// Data-parallel training on this machine's CPUs: time per step and the share of the step spent
// waiting for the gradient all-reduce, for ETTh1 CMamba at the anchor configuration (batch 64
// per process, 1 thread per process), with 1 process and with 2 processes on c10d Gloo: one
// all-reduce after backward, and gradient buckets that start during backward (small ones, and
// the default 25 MB). Runs itself as the workers (through ssmkit_run's launcher) and prints one
// table: step time, examples per second against one process, the exposed all-reduce time.
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cxxopts.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench_flags.h"
#include "ssmkit/cli/worker_launcher.h"
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
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kBatch = 64;  // per process
constexpr uint64_t kSeed = 2021;

struct Setting {
  int64_t processes;
  double bucket_mb;  // 0: one all-reduce after backward
};

// Records the exposed communication time at the end of the first (warm-up) epoch.
class WarmUpMark : public train::Callback {
 public:
  explicit WarmUpMark(const train::Trainer& trainer) : trainer_(trainer) {}
  void on_epoch_end(const train::EpochSummary& summary) override {
    if (summary.epoch == 1) exposed_after_warm_up = trainer_.exposed_communication_seconds();
  }
  double exposed_after_warm_up = 0;

 private:
  const train::Trainer& trainer_;
};

// A worker: two epochs of `steps` steps on its shard; the second is timed.
int run_worker(const std::string& data_path, int64_t steps, double bucket_mb,
               const std::string& out) {
  init_threads(1);
  const auto data = data::load_forecast_npz(data_path, {"train"});
  const char* world_text = std::getenv("WORLD_SIZE");
  const int64_t world = world_text != nullptr ? std::atoll(world_text) : 1;
  const int64_t windows = std::min(data.split("train").size(), steps * kBatch * world);
  train::seed_everything(kSeed);
  models::CMambaOptions options;  // the anchor configuration
  auto model = train::wrap_module(models::CMamba(options));
  train::OptimizerConfig adam;
  adam.name = "adam";
  adam.lr = 5e-4;
  auto optimizer = train::make_optimizer(adam, model->named_parameters());
  train::TrainerConfig config;
  config.epochs = 2;
  config.progress = "off";
  config.early_stopping.monitor = "train_loss";
  config.dist_bucket_mb = bucket_mb;
  data::TensorBatchSourceOptions batches;
  batches.batch_size = kBatch;
  batches.shuffle = true;
  batches.drop_last = true;
  batches.seed = kSeed;
  data::TensorBatchSource source(data.split("train").inputs.narrow(0, 0, windows),
                                 data.split("train").targets.narrow(0, 0, windows), batches);
  data::ChannelMixupBatchSource mixed(source, options.sigma, kSeed);
  train::DistributedContext& context = train::shard_training_data(mixed, config, torch::kCPU);
  train::Trainer trainer(config, *model, *optimizer,
                         [](const at::Tensor& outputs, const at::Tensor& targets) {
                           return torch::l1_loss(outputs, targets);
                         });
  auto mark = std::make_shared<WarmUpMark>(trainer);
  trainer.add_callback(mark);
  if (context.has_group()) trainer.set_distributed(context);
  trainer.fit(mixed);
  if (!context.is_main()) return 0;
  const train::EpochSummary& timed = trainer.log().epochs.back();
  const int64_t timed_steps = mixed.num_batches();
  json result = {
      {"processes", world},
      {"bucket_mb", bucket_mb},
      {"steps", timed_steps},
      {"step_ms", 1e3 * timed.seconds / static_cast<double>(timed_steps)},
      {"exposed_ms", 1e3 * (trainer.exposed_communication_seconds() - mark->exposed_after_warm_up) /
                         static_cast<double>(timed_steps)},
      {"buckets", trainer.gradient_buckets() ? trainer.gradient_buckets()->bucket_count() : 0},
      {"parameters", model->parameter_count()}};
  std::ofstream(out) << result.dump() << "\n";
  return 0;
}

json run_setting(const Setting& setting, const std::string& data_path, int64_t steps,
                 const fs::path& folder) {
  const std::string out = (folder / ("p" + std::to_string(setting.processes) + "_b" +
                                     std::to_string(setting.bucket_mb) + ".json"))
                              .string();
  cli::LaunchOptions launch;
  launch.nproc_per_node = setting.processes;
  launch.master_port = 29400 + ::getpid() % 400;
  launch.program = "bench_ddp";
  launch.arguments = {"--worker",
                      "--data",
                      data_path,
                      "--steps",
                      std::to_string(steps),
                      "--bucket_mb",
                      std::to_string(setting.bucket_mb),
                      "--out",
                      out};
  std::error_code error;
  const std::string self = fs::read_symlink("/proc/self/exe", error).string();
  if (setting.processes == 1) {
    // One process without a group: what a plain run does.
    const std::string command = self + " --worker --data " + data_path + " --steps " +
                                std::to_string(steps) + " --bucket_mb 0 --out " + out;
    if (std::system(command.c_str()) != 0) return json();
  } else if (cli::launch_workers(launch, self) != 0) {
    return json();
  }
  std::ifstream in(out);
  return json::parse(in);
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options cli("bench_ddp", "data-parallel CMamba steps on the CPU: 1 and 2 processes");
  // clang-format off
  cli.add_options()
      ("data", "prepare_data .npz of ETTh1 (96 -> 96)", cxxopts::value<std::string>())
      ("steps", "timed steps per process (after as many warm-up steps)",
       cxxopts::value<int64_t>()->default_value("30"))
      ("buckets", "comma-separated bucket sizes (MB) for 2 processes; 0 = one all-reduce after "
       "backward", cxxopts::value<std::string>()->default_value("0,0.25,25"))
      ("worker", "run as one worker (internal)", cxxopts::value<bool>()->default_value("false"))
      ("bucket_mb", "worker: bucket size", cxxopts::value<double>()->default_value("25"))
      ("out", "worker: result file", cxxopts::value<std::string>()->default_value(""))
      ("h,help", "this help");
  // clang-format on
  const cxxopts::ParseResult args = ssmkit::bench::parse_flags_or_exit(cli, argc, argv);
  if (!args.count("data")) {
    std::fprintf(stderr,
                 "bench_ddp: --data ETTh1 .npz (prepare_data --input_length 96 "
                 "--forecast_length 96) is required\n");
    return 1;
  }
  const std::string data_path = args["data"].as<std::string>();
  const int64_t steps = args["steps"].as<int64_t>();
  if (args["worker"].as<bool>()) {
    return run_worker(data_path, steps, args["bucket_mb"].as<double>(),
                      args["out"].as<std::string>());
  }
  const fs::path folder = fs::temp_directory_path() / ("bench_ddp." + std::to_string(::getpid()));
  fs::create_directories(folder);
  std::vector<Setting> settings = {{1, 0.0}};
  std::stringstream list(args["buckets"].as<std::string>());
  for (std::string item; std::getline(list, item, ',');)
    settings.push_back({2, std::stod(item)});
  std::printf(
      "ETTh1 CMamba (anchor config), batch %lld per process, 1 thread per process, %lld "
      "timed steps\n",
      static_cast<long long>(kBatch), static_cast<long long>(steps));
  std::printf("%9s | %9s | %7s | %8s | %11s | %9s | %10s | %7s\n", "processes", "bucket MB",
              "buckets", "step ms", "examples/s", "vs 1 proc", "exposed ms", "share");
  double single_rate = 0;
  int status = 0;
  for (const Setting& setting : settings) {
    const json r = run_setting(setting, data_path, steps, folder);
    if (r.is_null()) {
      std::printf("%9lld | %9.2f | failed\n", static_cast<long long>(setting.processes),
                  setting.bucket_mb);
      status = 1;
      continue;
    }
    const double step_ms = r["step_ms"].get<double>();
    const double rate = 1e3 * static_cast<double>(kBatch * setting.processes) / step_ms;
    if (setting.processes == 1) single_rate = rate;
    const double exposed = r["exposed_ms"].get<double>();
    std::printf(
        "%9lld | %9s | %7lld | %8.1f | %11.0f | %8.2fx | %10.2f | %6.1f%%\n",
        static_cast<long long>(setting.processes),
        setting.processes == 1 ? "-" : std::to_string(setting.bucket_mb).substr(0, 5).c_str(),
        r["buckets"].get<long long>(), step_ms, rate, single_rate > 0 ? rate / single_rate : 0.0,
        exposed, 100.0 * exposed / step_ms);
    std::fflush(stdout);
  }
  fs::remove_all(folder);
  return status;
}
