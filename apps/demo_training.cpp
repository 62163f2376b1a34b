// demo_training: a quick check that the set-up works.
//   demo_training                  (--task vision, the default) a tiny Vision Mamba trained for a
//                                  few epochs on a slice of Fashion-MNIST (generated images when
//                                  the data set is not installed), printing that the loss falls
//   demo_training --task forecast --data CSV --output_dir DIR
//                                  trains a small Mamba model (an input projection, residual Mamba
//                                  layers with RMSNorm, an output head) with the Trainer to
//                                  forecast the next value of each sequence of a
//                                  one-sequence-per-row CSV (data/toy_sequences.csv), prints the
//                                  train and validation loss per epoch (epoch 0 is the untrained
//                                  model), and writes them to <output_dir>/results.json. Given
//                                  --data, the task is forecast.
#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/torch.h>
#include <cxxopts.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "ssmkit/cli/config_flags.h"
#include "ssmkit/cli/run_main.h"
#include "ssmkit/cli/vision_mamba_program.h"
#include "ssmkit/data/image_batch_source.h"
#include "ssmkit/data/image_classification_data.h"
#include "ssmkit/data/tensor_batch_source.h"
#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/sequence_rows_csv.h"
#include "ssmkit/metrics/classification_evaluation.h"
#include "ssmkit/models/vision_mamba.h"
#include "ssmkit/nn/mamba_layer.h"
#include "ssmkit/train/callback.h"
#include "ssmkit/train/seed.h"
#include "ssmkit/train/trainable_model.h"
#include "ssmkit/train/trainer.h"
#include "ssmkit/train/training_error.h"
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

// ---------------------------------------------------------------------------------------------
// The vision demo

constexpr int64_t kVisionTrainImages = 2048;
constexpr int64_t kVisionTestImages = 1024;
constexpr int64_t kGeneratedSide = 28;
constexpr int64_t kGeneratedClasses = 10;

// Images whose class decides where a bright 7x7 square sits, under noise: learnable in a few steps
// when Fashion-MNIST is not installed.
data::ImageSplit generated_images(int64_t count, uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const at::Tensor labels = torch::randint(kGeneratedClasses, {count}, generator, torch::kInt64);
  at::Tensor images = torch::rand({count, 1, kGeneratedSide, kGeneratedSide}, generator) * 80;
  const auto label = labels.accessor<int64_t, 1>();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t row = (label[i] / 5) * 14 + 3, col = (label[i] % 5) * 5;
    images[i].narrow(1, row, 7).narrow(2, col, 7) += 170;
  }
  return {images.to(torch::kUInt8), labels};
}

data::ImageSplit first_images(const data::ImageSplit& split, int64_t count) {
  const int64_t n = std::min(count, split.size());
  return {split.images.narrow(0, 0, n), split.labels.narrow(0, 0, n)};
}

// Every step's training loss; the demo compares the mean of the first and the last quarter.
class StepLosses : public train::Callback {
 public:
  void on_batch_end(const train::StepInfo& info) override { losses.push_back(info.loss); }
  std::vector<double> losses;
};

double mean_of(const std::vector<double>& values, size_t begin, size_t end) {
  double sum = 0;
  for (size_t i = begin; i < end; ++i)
    sum += values[i];
  return sum / static_cast<double>(end - begin);
}

int run_vision(int argc, char** argv) {
  cxxopts::Options options(
      std::string(kProgram) + " --task vision",
      "Trains a tiny Vision Mamba for a few epochs on a slice of Fashion-MNIST "
      "(generated images when it is not installed) and checks the loss falls.");
  // clang-format off
  options.add_options()
      ("task", "vision (this demo) or forecast", cxxopts::value<std::string>())
      ("data_dir", "Fashion-MNIST folder", cxxopts::value<std::string>()->default_value(
          data::kDebianFashionMnistDir))
      ("epochs", "Training epochs", cxxopts::value<int64_t>()->default_value("3"))
      ("seed", "Random seed", cxxopts::value<uint64_t>()->default_value(std::to_string(train::kDefaultSeed)))
      ("threads", "CPU threads; 0 = SSMKIT_NUM_THREADS, OMP_NUM_THREADS or all cores",
       cxxopts::value<int>()->default_value("0"))
      ("trace_shapes", "Log every block's input and output shapes",
       cxxopts::value<bool>()->default_value("false"))
      ("h,help", "Show this help");
  // clang-format on
  const cli::ParsedArguments args = cli::parse_arguments(options, argc, argv);
  if (args.count("help") > 0) {
    std::cout << options.help() << std::endl;
    return 0;
  }
  const int64_t epochs = args["epochs"].as<int64_t>();
  check(epochs >= 1, "--epochs must be >= 1, got " + std::to_string(epochs));
  const uint64_t seed = args["seed"].as<uint64_t>();
  init_threads(args["threads"].as<int>());
  if (args["trace_shapes"].as<bool>()) set_trace_shapes(true);

  const std::string folder = args["data_dir"].as<std::string>();
  data::ImageSplit train_split, test_split;
  std::string source;
  if (std::filesystem::exists(folder)) {
    data::ImageDataOptions data_options;
    data_options.dataset = "fashion_mnist";
    data_options.data_dir = folder;
    data_options.val_fraction = 0.0;
    data_options.flag = "--data_dir";
    const data::ImageClassificationData data = data::load_image_classification_data(data_options);
    train_split = first_images(data.train, kVisionTrainImages);
    test_split = first_images(data.test, kVisionTestImages);
    source = "Fashion-MNIST from " + folder;
  } else {
    train_split = generated_images(kVisionTrainImages, seed);
    test_split = generated_images(kVisionTestImages, seed + 1);
    source = "generated 28x28 images (" + folder + " not found)";
  }

  train::seed_everything(seed);
  models::VisionMambaOptions model_options;
  model_options.size = "tiny";
  model_options.embed_dim = 32;
  model_options.depth = 2;
  model_options.image_size = kGeneratedSide;
  model_options.in_channels = 1;
  model_options.patch_size = 7;
  model_options.num_classes = kGeneratedClasses;
  model_options.drop_path = 0.0;
  auto model = train::wrap_module(models::VisionMamba(model_options));
  data::ImageBatchOptions batches;
  batches.batches.batch_size = 64;
  batches.batches.shuffle = true;
  batches.batches.seed = seed;
  batches.mean = {0.5};
  batches.std = {0.5};
  data::ImageBatchSource train_batches(train_split.images, train_split.labels, batches);
  batches.batches.shuffle = false;
  data::ImageBatchSource test_batches(test_split.images, test_split.labels, batches);
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(3e-3));
  train::TrainerConfig config;
  config.epochs = epochs;
  config.early_stopping.monitor = "train_loss";  // no validation split in a demo this short
  spdlog::set_level(spdlog::level::warn);
  train::Trainer trainer(config, *model, optimizer, cli::classification_loss(0.0));
  auto evaluation = std::make_shared<metrics::ClassificationEvaluation>(kGeneratedClasses);
  trainer.set_evaluation_metrics(evaluation);
  auto steps = std::make_shared<StepLosses>();
  trainer.add_callback(steps);

  std::printf(
      "%s: Vision Mamba (tiny: width 32, 2 blocks, %lld parameters) on %lld images of %s, "
      "%d threads\n",
      kProgram, static_cast<long long>(model->parameter_count()),
      static_cast<long long>(train_split.size()), source.c_str(), at::get_num_threads());
  const auto start = std::chrono::steady_clock::now();
  const double untrained = trainer.evaluate(test_batches, "test").metrics.at("test_accuracy");
  trainer.fit(train_batches);
  const double trained = trainer.evaluate(test_batches, "test").metrics.at("test_accuracy");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const size_t n = steps->losses.size(), quarter = std::max<size_t>(1, n / 4);
  const double first = mean_of(steps->losses, 0, quarter);
  const double last = mean_of(steps->losses, n - quarter, n);
  std::printf(
      "%s: %zu steps in %.1f s: training loss %.3f (first quarter) -> %.3f (last quarter); "
      "test accuracy %.3f -> %.3f on %lld images\n",
      kProgram, n, seconds, first, last, untrained, trained,
      static_cast<long long>(test_split.size()));
  if (!(last < first)) {
    throw train::TrainingError("the loss did not fall (" + std::to_string(first) + " -> " +
                               std::to_string(last) + "): the set-up is broken");
  }
  std::printf("%s: OK, the loss falls: the set-up works\n", kProgram);
  return 0;
}

// --task forecast (or --data given) runs the forecasting demo, anything else the vision demo.
int dispatch(int argc, char** argv) {
  std::string task;
  bool has_data = false;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--task" && i + 1 < argc) {
      task = argv[++i];
      continue;
    }
    if (word.rfind("--task=", 0) == 0) {
      task = word.substr(7);
      continue;
    }
    if (word == "--data" || word.rfind("--data=", 0) == 0) has_data = true;
    rest.push_back(argv[i]);
  }
  if (task.empty()) task = has_data ? "forecast" : "vision";
  if (task == "forecast") return run(static_cast<int>(rest.size()), rest.data());
  if (task == "vision") return run_vision(static_cast<int>(rest.size()), rest.data());
  throw InputError("--task: '" + task + "' is unknown, expected vision or forecast");
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_main(kProgram, argc, argv, dispatch);
}
