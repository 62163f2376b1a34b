// demo_training: a quick check that the set-up works. Trains a small Mamba model (an input
// projection, residual Mamba layers with RMSNorm, an output head) with the Trainer to forecast the
// next value of each sequence of a one-sequence-per-row CSV (data/toy_sequences.csv), prints the
// train and validation loss per epoch (epoch 0 is the untrained model), and writes them to
// <output_dir>/results.json.
#include <spdlog/spdlog.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <cxxopts.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "ssmkit/cli/run_main.h"
#include "ssmkit/data/tensor_batch_source.h"
#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/sequence_rows_csv.h"
#include "ssmkit/nn/mamba_layer.h"
#include "ssmkit/train/callback.h"
#include "ssmkit/train/seed.h"
#include "ssmkit/train/trainable_model.h"
#include "ssmkit/train/trainer.h"
#include "ssmkit/util/threads.h"
#include "ssmkit/util/trace.h"

namespace {

using namespace ssmkit;
using nlohmann::json;

constexpr const char* kProgram = "demo_training";
constexpr const char* kResultsFile = "results.json";
// The model sees x[0..t] and predicts x[t+1]: a row needs at least two values.
constexpr int64_t kMinSequenceLength = 2;
// Mamba's state size and expansion suit a model this small; the stack defaults are Mamba's.
constexpr int64_t kStateSize = 16;
// The last fifth of the rows is held out for validation.
constexpr double kValidationFraction = 0.2;

struct DemoFlags {
  std::string data;
  std::string output_dir;
  int64_t epochs = 10;
  int64_t batch_size = 64;
  double learning_rate = 5e-3;
  int64_t d_model = 32;
  int64_t n_layers = 2;
  uint64_t seed = train::kDefaultSeed;
};

// Embeds each scalar, runs the Mamba stack, reads the next value off each position.
class ForecasterImpl : public torch::nn::Module {
 public:
  explicit ForecasterImpl(const nn::MambaStackOptions& options) {
    input = register_module("input", torch::nn::Linear(1, options.mamba.d_model));
    backbone = register_module("backbone", nn::MambaStack(options));
    head = register_module("head", torch::nn::Linear(options.mamba.d_model, 1));
  }

  at::Tensor forward(const at::Tensor& series) {  // (B, L) -> (B, L) next-value forecasts
    at::Tensor y = head(backbone(input(series.unsqueeze(-1)))).squeeze(-1);
    trace_shapes("Forecaster", series, y);
    return y;
  }

  torch::nn::Linear input{nullptr};
  nn::MambaStack backbone{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(Forecaster);

// One table row per epoch, as the Trainer reports them.
class EpochTable : public train::Callback {
 public:
  explicit EpochTable(json& epochs) : epochs_(epochs) {}
  void on_epoch_end(const train::EpochSummary& e) override {
    print(e.epoch, e.train_loss, e.val_loss, e.seconds);
  }
  void print(int64_t epoch, double train_loss, double val_loss, double seconds) {
    std::printf("%6lld %12.5f %12.5f %8.2f\n", static_cast<long long>(epoch), train_loss, val_loss,
                seconds);
    std::fflush(stdout);
    epochs_.push_back({{"epoch", epoch},
                       {"train_loss", train_loss},
                       {"val_loss", val_loss},
                       {"seconds", seconds}});
  }

 private:
  json& epochs_;
};

void check(bool ok, const std::string& message) {
  if (!ok) throw InputError(message);
}

DemoFlags parse_flags(int argc, char** argv, bool& help) {
  const DemoFlags d;
  cxxopts::Options options(kProgram,
                           "Trains a small Mamba model to forecast the next value of each sequence "
                           "in a CSV (one sequence per row), printing the loss per epoch.");
  // clang-format off
  options.add_options()
      ("data", "CSV file, one sequence per row under a header", cxxopts::value<std::string>())
      ("output_dir", "Folder for results.json (created if missing)", cxxopts::value<std::string>())
      ("epochs", "Training epochs", cxxopts::value<int64_t>()->default_value(std::to_string(d.epochs)))
      ("batch_size", "Sequences per batch",
       cxxopts::value<int64_t>()->default_value(std::to_string(d.batch_size)))
      ("learning_rate", "Adam learning rate", cxxopts::value<double>()->default_value("0.005"))
      ("d_model", "Model width", cxxopts::value<int64_t>()->default_value(std::to_string(d.d_model)))
      ("n_layers", "Mamba layers",
       cxxopts::value<int64_t>()->default_value(std::to_string(d.n_layers)))
      ("seed", "Random seed (initialisation and batch order)",
       cxxopts::value<uint64_t>()->default_value(std::to_string(d.seed)))
      ("threads", "CPU threads; 0 = SSMKIT_NUM_THREADS, OMP_NUM_THREADS or all cores",
       cxxopts::value<int>()->default_value("0"))
      ("trace_shapes", "Log every block's input and output shapes",
       cxxopts::value<bool>()->default_value("false"))
      ("h,help", "Show this help");
  // clang-format on
  const cxxopts::ParseResult args = options.parse(argc, argv);
  help = args.count("help") > 0;
  if (help) std::cout << options.help() << std::endl;
  check(args.unmatched().empty(), "unexpected argument '" +
                                      (args.unmatched().empty() ? "" : args.unmatched().front()) +
                                      "' (all options are --name value)");
  DemoFlags f;
  if (args.count("data")) f.data = args["data"].as<std::string>();
  if (args.count("output_dir")) f.output_dir = args["output_dir"].as<std::string>();
  f.epochs = args["epochs"].as<int64_t>();
  f.batch_size = args["batch_size"].as<int64_t>();
  f.learning_rate = args["learning_rate"].as<double>();
  f.d_model = args["d_model"].as<int64_t>();
  f.n_layers = args["n_layers"].as<int64_t>();
  f.seed = args["seed"].as<uint64_t>();
  if (help) return f;
  check(!f.data.empty(), "--data is required (a CSV with one sequence per row)");
  check(!f.output_dir.empty(), "--output_dir is required");
  check(f.epochs >= 1, "--epochs must be >= 1, got " + std::to_string(f.epochs));
  check(f.batch_size >= 1, "--batch_size must be >= 1, got " + std::to_string(f.batch_size));
  check(f.learning_rate > 0, "--learning_rate must be > 0, got " + std::to_string(f.learning_rate));
  check(f.d_model >= 1, "--d_model must be >= 1, got " + std::to_string(f.d_model));
  check(f.n_layers >= 1, "--n_layers must be >= 1, got " + std::to_string(f.n_layers));
  if (args["trace_shapes"].as<bool>()) set_trace_shapes(true);
  init_threads(args["threads"].as<int>());
  return f;
}

int run(int argc, char** argv) {
  bool help = false;
  const DemoFlags flags = parse_flags(argc, argv, help);
  if (help) return 0;

  io::SequenceRows csv = io::read_sequence_rows_csv(flags.data);
  check(csv.length >= kMinSequenceLength,
        flags.data + ": sequences have " + std::to_string(csv.length) +
            " values, the forecasting task needs at least " + std::to_string(kMinSequenceLength));
  const auto n_val = static_cast<int64_t>(static_cast<double>(csv.rows) * kValidationFraction);
  check(n_val >= 1 && csv.rows - n_val >= 1,
        flags.data + ": " + std::to_string(csv.rows) +
            " sequences are too few to hold out a validation part; need at least " +
            std::to_string(static_cast<int64_t>(std::ceil(1.0 / kValidationFraction)) + 1));
  std::error_code error;
  std::filesystem::create_directories(flags.output_dir, error);
  check(!error, "--output_dir '" + flags.output_dir + "' cannot be created: " + error.message());

  train::seed_everything(flags.seed);
  const at::Tensor all =
      torch::from_blob(csv.values.data(), {csv.rows, csv.length}, torch::kFloat).clone();
  const int64_t len = csv.length;
  const at::Tensor inputs = all.narrow(1, 0, len - 1);   // (N, L - 1)
  const at::Tensor targets = all.narrow(1, 1, len - 1);  // (N, L - 1) the next values
  const int64_t n_train = csv.rows - n_val;
  data::TensorBatchSourceOptions train_options;
  train_options.batch_size = flags.batch_size;
  train_options.shuffle = true;
  train_options.seed = flags.seed;
  data::TensorBatchSource train_rows(inputs.narrow(0, 0, n_train), targets.narrow(0, 0, n_train),
                                     train_options);
  data::TensorBatchSourceOptions eval_options;
  eval_options.batch_size = flags.batch_size;
  data::TensorBatchSource train_eval(inputs.narrow(0, 0, n_train), targets.narrow(0, 0, n_train),
                                     eval_options);
  data::TensorBatchSource val_rows(inputs.narrow(0, n_train, n_val),
                                   targets.narrow(0, n_train, n_val), eval_options);

  nn::MambaStackOptions model_options;
  model_options.mamba.d_model = flags.d_model;
  model_options.mamba.d_state = kStateSize;
  model_options.n_layers = flags.n_layers;
  auto model = train::wrap_module(Forecaster(model_options));
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(flags.learning_rate));
  train::TrainerConfig config;
  config.epochs = flags.epochs;
  // The table below is the demo's output; the Trainer's own log lines would interleave with it.
  spdlog::set_level(spdlog::level::warn);
  train::Trainer trainer(config, *model, optimizer, [](const at::Tensor& y, const at::Tensor& t) {
    return torch::nn::functional::mse_loss(y, t);
  });
  json epochs = json::array();
  auto table = std::make_shared<EpochTable>(epochs);

  std::printf("%s: next-value forecasting on %s, Mamba d_model=%lld, %lld layers, %d threads\n",
              kProgram, flags.data.c_str(), static_cast<long long>(flags.d_model),
              static_cast<long long>(flags.n_layers), at::get_num_threads());
  std::printf("%6s %12s %12s %8s\n", "epoch", "train_mse", "val_mse", "seconds");
  const train::EvaluationResult untrained_train = trainer.evaluate(train_eval, "train");
  const train::EvaluationResult untrained_val = trainer.evaluate(val_rows, "val");
  table->print(0, untrained_train.loss, untrained_val.loss,
               untrained_train.seconds + untrained_val.seconds);
  trainer.add_callback(table);
  trainer.fit(train_rows, &val_rows);

  // The baseline: forecast each value by the one before it.
  const at::Tensor val_targets = targets.narrow(0, n_train, n_val);
  const double last_value =
      torch::nn::functional::mse_loss(inputs.narrow(0, n_train, n_val), val_targets).item<double>();
  const double final_val = epochs.back()["val_loss"].get<double>();
  const std::string results_path =
      (std::filesystem::path(flags.output_dir) / kResultsFile).string();
  const json results = {
      {"task", "next-value forecasting, MSE"},
      {"data", flags.data},
      {"train_sequences", n_train},
      {"val_sequences", n_val},
      {"sequence_length", len},
      {"model", {{"backbone", model_options}, {"parameters", model->parameter_count()}}},
      {"optimizer", {{"name", "adam"}, {"learning_rate", flags.learning_rate}}},
      {"batch_size", flags.batch_size},
      {"seed", flags.seed},
      {"last_value_val_loss", last_value},
      {"final_val_loss", final_val},
      {"epochs", epochs}};
  write_file_atomic(results_path, results.dump(2) + "\n");
  std::printf(
      "validation MSE %.5f -> %.5f (repeating the last value: %.5f); %lld train / %lld val "
      "sequences of length %lld, %lld parameters\n",
      untrained_val.loss, final_val, last_value, static_cast<long long>(n_train),
      static_cast<long long>(n_val), static_cast<long long>(len),
      static_cast<long long>(model->parameter_count()));
  std::printf("results: %s\n", results_path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_main(kProgram, argc, argv, run);
}
