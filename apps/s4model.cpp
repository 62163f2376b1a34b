// s4model: trains S4Model (the S4 repository's example: encoder, S4D residual blocks, mean pooling,
// decoder) on an image set read pixel by pixel or on tabular CSV rows read feature by feature,
// with S4's optimizer recipe, then tests the best weights. Checkpoints go to
// <checkpoint_dir>/<modelname>/, results to <results_dir>/<modelname>/. Flags and outputs:
// docs/s4model.md.
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <cxxopts.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "ssmkit/cli/run_main.h"
#include "ssmkit/cli/s4_program.h"
#include "ssmkit/cli/training_program.h"
#include "ssmkit/data/tensor_batch_source.h"
#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/error.h"
#include "ssmkit/metrics/classification_evaluation.h"
#include "ssmkit/metrics/regression_evaluation.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/models/s4_model.h"
#include "ssmkit/report/csv_logger_callback.h"
#include "ssmkit/report/curves_callback.h"
#include "ssmkit/train/checkpoint.h"
#include "ssmkit/train/device.h"
#include "ssmkit/train/pause_after_epoch.h"
#include "ssmkit/train/seed.h"
#include "ssmkit/util/heap_reuse.h"
#include "ssmkit/util/threads.h"
#include "ssmkit/util/trace.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace ssmkit;

constexpr const char* kProgram = "s4model";
constexpr const char* kModelName = "S4Model";
const char* const kUsage =
    "usage: s4model --dataset mnist|fashion_mnist|cifar10|FILE.csv --modelname NAME [options]\n"
    "       (--help lists every option)";

// The S4 repository's example.py defaults.
constexpr double kDefaultLearningRate = 0.01;
constexpr double kDefaultWeightDecay = 0.01;
constexpr int64_t kDefaultEpochs = 100;
// S4 trains its SSM parameters with min(0.001, lr) and no weight decay.
constexpr double kSsmLearningRate = 0.001;
// Lightning-style per-step rows are not wanted in the per-epoch log.
constexpr int64_t kNoStepRows = int64_t{1} << 40;

json default_config() {
  json config = cli::training_config_defaults();
  config["run"]["output_dir"] = "checkpoint/";
  config["run"]["pause_after_epoch"] = 0;  // end after this epoch, resumable (0: never)
  config["optimizer"]["name"] = "adamw";
  config["optimizer"]["lr"] = kDefaultLearningRate;
  config["optimizer"]["weight_decay"] = kDefaultWeightDecay;
  config["optimizer"]["ssm_parameters"] = models::S4ModelImpl::ssm_parameter_names();
  config["optimizer"]["ssm_lr"] = kSsmLearningRate;
  config["scheduler"]["name"] = "cosine";
  config["trainer"]["epochs"] = kDefaultEpochs;
  config["trainer"]["float32_matmul_precision"] = cli::kS4Float32MatmulPrecision;
  config["data"] = cli::s4_data_defaults();
  config["results_dir"] = "results/";
  config["model"] = {{"name", kModelName}, {"config", models::S4ModelOptions()}};
  return config;
}

std::vector<cli::ConfigFlag> config_flags() {
  std::vector<cli::ConfigFlag> flags = {
      {"modelname", "run.project_name",
       "name of the run: <checkpoint_dir>/<modelname>/ and "
       "<results_dir>/<modelname>/"},
      {"dataset", "data.dataset", "mnist, fashion_mnist, cifar10, or a CSV file"},
      {"data_dir", "data.data_dir",
       "folder of the image files (default for fashion_mnist: Debian's dataset-fashion-mnist)"},
      {"grayscale", "data.grayscale", "CIFAR-10 as one grayscale channel"},
      {"tabulardata", "data.tabulardata", "the dataset is a CSV table"},
      {"dependent_variable", "data.dependent_variable", "CSV column to predict"},
      {"independent_variables", "data.independent_variables",
       "CSV feature columns, in sequence order (space- or comma-separated)"},
      {"task", "data.task", "auto, classification or regression"},
      {"trainvaltestsplit", "data.trainvaltestsplit",
       "train val test ratios that split --dataset (default 0.8 0.1 0.1)"},
      {"trainset", "data.trainset", "training CSV (instead of splitting --dataset)"},
      {"valset", "data.valset", "validation CSV (default: 0.1 of --trainset)"},
      {"testset", "data.testset", "test CSV (default: 0.1 of --trainset)"},
      {"batch_size", "data.batch_size", "examples per batch"},
      {"num_workers", "data.num_workers",
       "data workers (accepted for compatibility: batches are slices of in-memory tensors)"},
      {"n_layers", "model.config.n_layers", "S4D layers"},
      {"d_model", "model.config.d_model", "channels of the S4D layers"},
      {"dropout", "model.config.dropout", "channel dropout in every layer"},
      {"prenorm", "model.config.prenorm", "LayerNorm before each S4D (else after the residual)"},
      {"checkpoint_dir", "run.output_dir", "folder of the checkpoint folders"},
      {"results_dir", "results_dir", "folder of the results folders"},
  };
  for (const cli::ConfigFlag& flag : cli::training_flags()) {
    if (flag.flag == "resume" || flag.flag == "output_dir" || flag.flag == "project_name") continue;
    flags.push_back(flag);
  }
  return flags;
}

train::LossFn make_loss(bool classification) {
  if (classification) {
    return [](const at::Tensor& outputs, const at::Tensor& targets) {
      return torch::cross_entropy_loss(outputs, targets);
    };
  }
  return [](const at::Tensor& outputs, const at::Tensor& targets) {
    return torch::mse_loss(outputs, targets);
  };
}

// The configuration: flags over the defaults, or over the checkpoint's configuration with
// --resume (the resumed run rebuilds the same model; flags given now still apply).
json resolve(const cli::ParsedArguments& args, const std::vector<cli::ConfigFlag>& flags) {
  json config = cli::resolve_config(args, flags, default_config());
  const std::string name = config["run"]["project_name"].get<std::string>();
  if (name.empty()) throw InputError("--modelname: missing\n" + std::string(kUsage));
  if (name.find('/') != std::string::npos || name == "." || name == "..") {
    throw InputError("--modelname: '" + name + "' must be a plain name, not a path");
  }
  if (!args["resume"].as<bool>()) return config;
  const std::string run =
      (fs::path(config["run"]["output_dir"].get<std::string>()) / name).string();
  const train::CheckpointState saved =
      train::read_checkpoint_state(train::resolve_checkpoint_path(run));
  if (saved.config.value("model", json::object()).value("name", "") != kModelName) {
    throw InputError("--resume: " + run + " holds no " + kModelName + " run");
  }
  json base = saved.config;
  base["run"]["pause_after_epoch"] = 0;  // a pause applies to the run that asked for it
  config = cli::resolve_config(args, flags, base);
  config["run"]["resume"] = run;
  return config;
}

int run(int argc, char** argv) {
  const std::vector<cli::ConfigFlag> flags = config_flags();
  cxxopts::Options options(
      kProgram,
      "Trains S4Model on an image set read as pixel sequences or on tabular CSV "
      "rows, with S4's optimizer recipe, and tests the best weights.");
  cli::add_config_flags(options, flags, default_config());
  cli::add_program_flags(options);
  options.add_options("program")(
      "resume", "continue <checkpoint_dir>/<modelname> where it stopped",
      cxxopts::value<bool>()->default_value("false")->implicit_value("true"));
  const cli::ParsedArguments args = cli::parse_arguments_with_lists(
      options, argc, argv, {"independent_variables", "trainvaltestsplit"});
  if (args.count("help") > 0) {
    std::cout << options.help() << std::endl;
    return 0;
  }
  json config = resolve(args, flags);
  if (cli::print_config_if_asked(args, config, std::cout)) return 0;
  const int threads = init_threads(args["threads"].as<int>());
  keep_freed_heap_for_reuse(kS4MmapThreshold);  // S4Model's GLU tensors stay in the heap
  if (args["trace_shapes"].as<bool>()) set_trace_shapes(true);

  // Data first: a bad file or flag is reported before any folder is created.
  const cli::S4Data data = cli::load_s4_data(config.at("data"));
  json& model_config = config["model"]["config"];
  model_config["d_input"] = data.d_input();
  model_config["d_output"] = data.d_output();
  config["data"]["class_names"] = data.class_names;
  config["data"]["classification"] = data.classification;
  if (data.encoding) config["data"]["encoding"] = data.encoding->to_json();
  train::resolve_device(config.at("trainer").at("device").get<std::string>(), "--device");
  const std::string name = config["run"]["project_name"].get<std::string>();
  fs::path results = fs::path(config.at("results_dir").get<std::string>()) / name;
  const int64_t batch_size = config["data"]["batch_size"].get<int64_t>();
  const uint64_t seed = config["run"]["seed"].get<uint64_t>();

  train::seed_everything(seed);
  const std::shared_ptr<models::Model> model = models::create_model(kModelName, model_config);
  auto trainable = train::wrap_module(model);

  data::TensorBatchSourceOptions train_options;
  train_options.batch_size = batch_size;
  train_options.shuffle = true;
  train_options.seed = seed;
  data::TensorBatchSource train_batches(data.splits.train.inputs, data.splits.train.targets,
                                        train_options);
  data::TensorBatchSourceOptions eval_options;
  eval_options.batch_size = batch_size;
  data::TensorBatchSource val_batches(data.splits.val.inputs, data.splits.val.targets,
                                      eval_options);
  data::TensorBatchSource test_batches(data.splits.test.inputs, data.splits.test.targets,
                                       eval_options);

  cli::TrainingSession session(config, *trainable, make_loss(data.classification), train_batches);
  // Rank 0 writes the results; another rank of a data-parallel run, its scratch folder.
  if (!session.is_main()) results = fs::path(session.run().path()) / "results";
  fs::create_directories(results);
  train::Trainer& trainer = session.trainer();
  if (data.classification) {
    trainer.set_evaluation_metrics(std::make_shared<metrics::ClassificationEvaluation>(
        static_cast<int64_t>(data.class_names.size())));
  } else {
    trainer.set_evaluation_metrics(std::make_shared<metrics::RegressionEvaluation>());
  }
  const std::string title = std::string(kModelName) + " on " + data.description;
  trainer.add_callback(std::make_shared<report::TrainingCurvesCallback>(
      (results / "training_curves.png").string(), trainer.log(), title));
  report::CsvLoggerOptions csv;
  csv.path = (results / "epochs.csv").string();
  csv.columns = {"train_loss_epoch", "val_loss"};
  csv.columns.push_back(data.classification ? "val_accuracy" : "val_mse");
  csv.columns.push_back(data.classification ? "val_macro_f1" : "val_mae");
  csv.log_every_n_steps = kNoStepRows;
  trainer.add_callback(std::make_shared<report::CsvLoggerCallback>(csv));
  spdlog::info(
      "{}: {} on {}: {} train / {} val / {} test sequences of {} steps x {} channels; {} "
      "threads",
      kProgram, kModelName, data.description, data.splits.train.size(), data.splits.val.size(),
      data.splits.test.size(), data.splits.train.inputs.size(1), data.d_input(), threads);

  const int64_t pause = config["run"]["pause_after_epoch"].get<int64_t>();
  if (pause > 0) trainer.add_callback(std::make_shared<train::PauseAfterEpoch>(pause));
  const train::FitResult fit =
      trainer.fit(train_batches, data.splits.val.size() > 0 ? &val_batches : nullptr,
                  data.splits.test.size() > 0 ? &test_batches : nullptr);
  // fit() left the best weights in the model.
  json summary = {{"model", kModelName},
                  {"modelname", name},
                  {"dataset", data.description},
                  {"task", data.classification ? "classification" : "regression"},
                  {"checkpoint", session.run().checkpoint("best")},
                  {"status", fit.end.status},
                  {"epochs_completed", fit.end.epochs_completed},
                  {"best_epoch", fit.end.best_epoch},
                  {"train_sequences", data.splits.train.size()},
                  {"val_sequences", data.splits.val.size()},
                  {"test_sequences", data.splits.test.size()}};
  double seconds = 0;
  for (const auto& epoch : trainer.log().epochs)
    seconds += epoch.seconds;
  if (!trainer.log().epochs.empty()) {
    summary["seconds_per_epoch"] = seconds / static_cast<double>(trainer.log().epochs.size());
  }
  const std::string phase = data.splits.test.size() > 0 ? "test" : "val";
  const data::LabelledSequences& scored = phase == "test" ? data.splits.test : data.splits.val;
  if (scored.size() > 0) {
    const at::Tensor outputs =
        cli::predict_outputs(*trainable, scored.inputs, batch_size, trainer.device());
    summary.update(
        cli::score_predictions(outputs, scored.targets, data, phase, results.string(), "", title));
    std::printf("%s: %s %.4f on %lld sequences\n", kProgram,
                cli::headline_metric(data, phase).c_str(),
                summary[cli::headline_metric(data, phase)].get<double>(),
                static_cast<long long>(scored.size()));
    if (data.test_rows && phase == "test") {
      // The test rows as they were read, so that infer can score them again.
      std::string text = cli::table_header(*data.test_rows->table) + "\n";
      for (const std::string& line : cli::table_rows(*data.test_rows))
        text += line + "\n";
      write_file_atomic((results / "test_split.csv").string(), text);
    }
  }
  write_file_atomic((results / "metrics.json").string(), summary.dump(2) + "\n");
  std::printf("%s: checkpoints in %s, results in %s (%s after %lld epochs)\n", kProgram,
              session.run().path().c_str(), results.string().c_str(), fit.end.status.c_str(),
              static_cast<long long>(fit.end.epochs_completed));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_main(kProgram, argc, argv, run, kUsage);
}
