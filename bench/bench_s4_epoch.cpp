// Times S4Model training steps as s4model runs them (the Trainer, AdamW with the SSM parameter
// group, the cosine schedule) on sequential Fashion-MNIST (784 steps of one pixel, d_model 128, 4
// layers, batch 64 by default), and extrapolates one epoch of 54,000 sequences from the median
// step. With --csv, on a tabular CSV as `s4model --tabulardata` reads it (one step per feature,
// the training split's rows repeated to fill the steps; an epoch is the training split).
// bench/s4_pytorch.py is the same model in plain PyTorch eager; bench/compare_s4.py runs both one
// after the other and prints the ratio.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cxxopts.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_flags.h"
#include "cuda_profiler.h"
#include "ssmkit/cli/s4_program.h"
#include "ssmkit/data/image_sequences.h"
#include "ssmkit/data/tensor_batch_source.h"
#include "ssmkit/io/csv.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/models/s4_model.h"
#include "ssmkit/train/callback.h"
#include "ssmkit/train/device.h"
#include "ssmkit/train/lr_scheduler.h"
#include "ssmkit/train/optimizer_factory.h"
#include "ssmkit/train/seed.h"
#include "ssmkit/train/trainer.h"
#include "ssmkit/util/heap_reuse.h"
#include "ssmkit/util/threads.h"

#ifdef SSMKIT_WITH_CUDA
#include "ssmkit/ops/s4d_scan_cuda.h"
#endif

namespace {

using namespace ssmkit;

// Seconds of each training step: the Trainer reads every step's loss on the host, so a step has
// finished when on_batch_end runs. With profile_step k > 0 on CUDA, the CUDA profiler API brackets
// step k (1-based), so that `ncu --profile-from-start off` sees that one step's kernels alone.
class StepClock : public train::Callback {
 public:
  StepClock(c10::Device device, int64_t profile_step)
      : device_(device), profile_step_(device.is_cuda() ? profile_step : 0) {}
  void on_epoch_begin(int64_t /*epoch*/, int64_t /*batches*/) override {
    last_ = now();
    if (profile_step_ == 1) bench::cuda_profiler(true);
  }
  void on_batch_end(const train::StepInfo& /*info*/) override {
    if (device_.is_cuda()) torch::cuda::synchronize();
    const auto t = now();
    seconds.push_back(std::chrono::duration<double>(t - last_).count());
    last_ = t;
    const int64_t done = static_cast<int64_t>(seconds.size());
    if (done == profile_step_) bench::cuda_profiler(false);
    if (done + 1 == profile_step_) bench::cuda_profiler(true);
  }
  std::vector<double> seconds;

 private:
  using Clock = std::chrono::steady_clock;
  static Clock::time_point now() { return Clock::now(); }
  c10::Device device_;
  int64_t profile_step_;
  Clock::time_point last_;
};

// The training split of `csv` as `s4model --tabulardata` reads it, every column but `target`
// (default the last) a feature; nullopt without a CSV. Exits with the error for a bad file.
std::optional<cli::S4Data> load_tabular(const std::string& csv, std::string target) {
  if (csv.empty()) return std::nullopt;
  try {
    std::vector<std::string> features = io::read_csv(csv).column_names();
    if (features.size() < 2) throw std::runtime_error(csv + " has fewer than two columns");
    if (target.empty()) target = features.back();
    if (std::find(features.begin(), features.end(), target) == features.end())
      throw std::runtime_error(csv + " has no column '" + target + "' (--target)");
    features.erase(std::remove(features.begin(), features.end(), target), features.end());
    nlohmann::json d = cli::s4_data_defaults();
    d["dataset"] = csv;
    d["tabulardata"] = true;
    d["dependent_variable"] = target;
    d["independent_variables"] = features;
    return cli::load_s4_data(d);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_s4_epoch: --csv: %s\n", e.what());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options cli("bench_s4_epoch",
                       "S4Model training steps on sequential Fashion-MNIST, epoch extrapolated");
  cli.add_options()("data_dir", "Fashion-MNIST IDX folder",
                    cxxopts::value<std::string>()->default_value(data::kDebianFashionMnistDir))(
      "csv", "a tabular CSV instead of Fashion-MNIST: every column but --target is a step",
      cxxopts::value<std::string>()->default_value(""))(
      "target", "--csv: the column to predict (default: the last)",
      cxxopts::value<std::string>()->default_value(""))(
      "device", "cpu or cuda", cxxopts::value<std::string>()->default_value("cpu"))(
      "step", "trainer step mode: auto, plain, fused, graph",
      cxxopts::value<std::string>()->default_value("auto"))(
      "float32_matmul_precision", "highest, high (TF32 on GPU tensor cores) or medium",
      cxxopts::value<std::string>()->default_value(cli::kS4Float32MatmulPrecision))(
      "steps", "timed training steps", cxxopts::value<int64_t>()->default_value("10"))(
      "warmup", "untimed steps before", cxxopts::value<int64_t>()->default_value("2"))(
      "profile_step",
      "CUDA: bracket this step (1-based) with cudaProfilerStart/Stop, for ncu "
      "--profile-from-start off (0: none)",
      cxxopts::value<int64_t>()->default_value("0"))("threads", "CPU threads",
                                                     cxxopts::value<int>()->default_value("0"))(
      "s4d_modes_per_lane",
      "CUDA: 4 or 8 forces the S4D scan kernels' complex modes per lane (0: their choice)",
      cxxopts::value<int>()->default_value("0"))("batch_size", "sequences per batch",
                                                 cxxopts::value<int64_t>()->default_value("64"))(
      "d_model", "S4D channels", cxxopts::value<int64_t>()->default_value("128"))(
      "n_layers", "S4D layers", cxxopts::value<int64_t>()->default_value("4"))(
      "epoch_sequences",
      "sequences of one training epoch, for the extrapolation (0: 54,000, or the CSV's training "
      "split)",
      cxxopts::value<int64_t>()->default_value("0"))(
      "json", "one JSON line instead of the table", cxxopts::value<bool>()->default_value("false"))(
      "h,help", "print this help");
  const auto args = bench::parse_flags_or_exit(cli, argc, argv);
  const int threads = init_threads(args["threads"].as<int>());
  keep_freed_heap_for_reuse(kS4MmapThreshold);  // S4Model's GLU tensors stay in the heap
  const c10::Device device = train::resolve_device(args["device"].as<std::string>());
  const int64_t batch = args["batch_size"].as<int64_t>();
  const int64_t warmup = args["warmup"].as<int64_t>();
  const int64_t steps = args["steps"].as<int64_t>();
  const int modes_per_lane = args["s4d_modes_per_lane"].as<int>();
  if (modes_per_lane != 0 && modes_per_lane != 4 && modes_per_lane != 8) {
    std::fprintf(stderr, "bench_s4_epoch: --s4d_modes_per_lane: %d given, expected 0, 4 or 8\n",
                 modes_per_lane);
    return 1;
  }
#ifdef SSMKIT_WITH_CUDA
  ops::set_s4d_scan_cuda_modes_per_lane(modes_per_lane);
#endif

  const std::string csv = args["csv"].as<std::string>();
  const std::optional<cli::S4Data> tabular = load_tabular(csv, args["target"].as<std::string>());
  const data::LabelledSequences all =
      tabular ? tabular->splits.train
              : data::image_sequences(data::load_image_set(data::ImageSet::fashion_mnist,
                                                           args["data_dir"].as<std::string>(),
                                                           io::DatasetSplit::train),
                                      data::ImageSet::fashion_mnist, false);
  const bool classification = !tabular || tabular->classification;
  const int64_t n = (warmup + steps) * batch;
  const int64_t copies = (n + all.inputs.size(0) - 1) / all.inputs.size(0);
  data::TensorBatchSourceOptions batches;
  batches.batch_size = batch;
  std::vector<int64_t> target_copies(all.targets.dim(), 1);  // (N) classes or (N, 1) values
  target_copies[0] = copies;
  data::TensorBatchSource source(all.inputs.repeat({copies, 1, 1}).narrow(0, 0, n),
                                 all.targets.repeat(target_copies).narrow(0, 0, n), batches);

  train::seed_everything(train::kDefaultSeed);
  models::S4ModelOptions options;
  if (tabular) {
    options.d_input = tabular->d_input();
    options.d_output = tabular->d_output();
  }
  options.d_model = args["d_model"].as<int64_t>();
  options.n_layers = args["n_layers"].as<int64_t>();
  auto network = models::create_model("S4Model", options);
  auto trainable = train::wrap_module(network);
  train::OptimizerConfig optimizer_config;
  optimizer_config.lr = 0.01;
  optimizer_config.weight_decay = 0.01;
  optimizer_config.ssm_parameters = models::S4ModelImpl::ssm_parameter_names();
  optimizer_config.ssm_lr = 0.001;
  auto optimizer = train::make_optimizer(optimizer_config, trainable->named_parameters());
  train::TrainerConfig config;
  config.epochs = 1;
  config.device = device.str();
  config.step = args["step"].as<std::string>();
  config.progress = "off";
  try {  // the Trainer's own check of the value
    config.float32_matmul_precision =
        train::TrainerConfig::from_json(
            {{"float32_matmul_precision", args["float32_matmul_precision"].as<std::string>()}})
            .float32_matmul_precision;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_s4_epoch: --float32_matmul_precision: %s\n", e.what());
    return 1;
  }
  int64_t epoch_sequences = args["epoch_sequences"].as<int64_t>();
  if (epoch_sequences == 0) epoch_sequences = tabular ? all.inputs.size(0) : 54000;
  const int64_t steps_per_epoch = (epoch_sequences + batch - 1) / batch;
  train::Trainer trainer(
      config, *trainable, *optimizer,
      [classification](const at::Tensor& outputs, const at::Tensor& targets) {
        return classification ? torch::cross_entropy_loss(outputs, targets)
                              : torch::mse_loss(outputs, targets);
      },
      std::make_unique<train::CosineWarmupLr>(*optimizer, 0, 100 * steps_per_epoch, 0.0));
  auto clock = std::make_shared<StepClock>(trainer.device(), args["profile_step"].as<int64_t>());
  trainer.add_callback(clock);
  trainer.fit(source);

  std::vector<double> timed(
      clock->seconds.begin() + std::min<int64_t>(warmup, clock->seconds.size()),
      clock->seconds.end());
  std::sort(timed.begin(), timed.end());
  const double step_s = timed.empty() ? 0.0 : timed[timed.size() / 2];
  if (args["json"].as<bool>()) {
    std::printf(
        "{\"impl\": \"ssmkit\", \"device\": \"%s\", \"threads\": %d, \"batch_size\": %lld, "
        "\"steps\": %lld, \"median_step_s\": %.5f, \"epoch_s_extrapolated\": %.2f, "
        "\"steps_per_epoch\": %lld, \"step_mode\": \"%s\", \"params\": %lld, "
        "\"sequence_length\": %lld}\n",
        device.str().c_str(), threads, static_cast<long long>(batch),
        static_cast<long long>(timed.size()), step_s, step_s * static_cast<double>(steps_per_epoch),
        static_cast<long long>(steps_per_epoch), train::step_mode_name(trainer.step_mode()).c_str(),
        static_cast<long long>(trainable->parameter_count()),
        static_cast<long long>(all.inputs.size(1)));
  } else {
    std::printf("%-8s %7s %6s %6s %12s %16s %8s\n", "device", "threads", "batch", "steps",
                "ms/step", "s/epoch (extrap)", "params");
    std::printf("%-8s %7d %6lld %6zu %12.1f %16.1f %8lld\n", device.str().c_str(), threads,
                static_cast<long long>(batch), timed.size(), step_s * 1000,
                step_s * static_cast<double>(steps_per_epoch),
                static_cast<long long>(trainable->parameter_count()));
  }
  return 0;
}
