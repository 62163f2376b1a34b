// train_vision_mamba: trains the Vision Mamba classifier (models/vision_mamba.h) on Fashion-MNIST,
// CIFAR-10 or CIFAR-100 from a configuration (`--config fashion_mnist`, a shipped name, or any
// JSON file; every key overridable as --section.key VALUE), then tests the best weights. Outputs,
// as the seed's tree: logs/, checkpoints/ and tensorboard/ folders named vision_mamba_<dataset>.
// Flags and outputs: docs/vision_mamba.md.
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <cxxopts.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "ssmkit/cli/config_flags.h"
#include "ssmkit/cli/run_main.h"
#include "ssmkit/cli/training_program.h"
#include "ssmkit/cli/vision_mamba_program.h"
#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/config.h"
#include "ssmkit/io/error.h"
#include "ssmkit/metrics/classification_evaluation.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/report/classification_report.h"
#include "ssmkit/report/curves_callback.h"
#include "ssmkit/report/plots.h"
#include "ssmkit/report/seed_checkpoints.h"
#include "ssmkit/report/tensorboard_callback.h"
#include "ssmkit/train/checkpoint.h"
#include "ssmkit/train/device.h"
#include "ssmkit/train/seed.h"
#include "ssmkit/util/threads.h"
#include "ssmkit/util/trace.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace ssmkit;

constexpr const char* kProgram = "train_vision_mamba";
const char* const kUsage =
    "usage: train_vision_mamba --config NAME|FILE.json [--section.key VALUE ...] [--resume FILE]\n"
    "       shipped configs: cifar10, cifar100, fashion_mnist (--help lists every key)";

// The configuration: defaults, the --config file (a shipped name or a path), the flags; when
// resuming, the checkpoint's configuration is the base instead, so the same model is rebuilt.
json resolve(const cli::ParsedArguments& args, const std::vector<cli::ConfigFlag>& flags,
             const json& defaults) {
  json config = cli::resolve_config(args, flags, defaults, cli::vision_mamba_config_path);
  const std::string resume = config.at("resume").get<std::string>();
  if (resume.empty()) return config;
  const std::string checkpoint =
      train::resolve_checkpoint_path(cli::run_checkpoint_of(resume, config));
  const json saved = train::read_checkpoint_state(checkpoint).config;
  if (!saved.contains("vision_mamba")) {
    throw InputError("--resume: " + resume + " was not written by " + kProgram);
  }
  json resumed = saved.at("vision_mamba");
  // What this command line says still applies (e.g. more epochs), over the saved configuration.
  for (const auto& flag : flags) {
    if (args.count(flag.flag) > 0) {
      io::set_config_value(resumed, flag.key, args[flag.flag].as<std::string>(), "--" + flag.flag);
    }
  }
  for (const auto& [key, text] : io::flatten_config(defaults)) {
    if (args.count(key) > 0)
      io::set_config_value(resumed, key, args[key].as<std::string>(), "--" + key);
  }
  resumed["resume"] = resume;
  return resumed;
}

// logs/<experiment>/confusion_matrix.png and the test report beside it.
void write_test_outputs(const std::string& folder, const metrics::ConfusionMatrix& matrix,
                        const data::ImageClassificationData& data, bool plots) {
  const std::string text = report::classification_report(matrix, data.class_names, 4);
  std::printf("%s: test accuracy %.4f over %lld images\n%s\n", kProgram, matrix.accuracy(),
              static_cast<long long>(matrix.total()), text.c_str());
  write_file_atomic((fs::path(folder) / "classification_report.txt").string(), text);
  if (plots) {
    report::plot_confusion_matrix((fs::path(folder) / "confusion_matrix.png").string(), matrix,
                                  data.class_names, "Vision Mamba on " + data.dataset + " (test)");
  }
}

int run(int argc, char** argv) {
  const json defaults = cli::vision_mamba_config_defaults();
  const std::vector<cli::ConfigFlag> flags = {
      {"resume", "resume", "continue the run of this checkpoint (any .pth or .pt of the run)"},
      {"data_dir", "data.data_dir", "folder of the data set files"},
      {"epochs", "training.epochs", "training epochs"},
      {"device", "training.device", "cpu, cuda, cuda:<index> or auto"},
  };
  cxxopts::Options options(kProgram,
                           "Trains Vision Mamba image classifiers from a configuration; "
                           "--config NAME picks configs/vision_mamba/NAME.json.");
  cli::add_config_flags(options, flags, defaults);
  cli::add_program_flags(options);
  const cli::ParsedArguments args = cli::parse_arguments(options, argc, argv);
  if (args.count("help") > 0) {
    std::cout << options.help() << std::endl;
    return 0;
  }
  json config = resolve(args, flags, defaults);
  if (cli::print_config_if_asked(args, config, std::cout)) return 0;
  const int threads = init_threads(args["threads"].as<int>());
  if (args["trace_shapes"].as<bool>()) set_trace_shapes(true);

  // Data first: a missing or bad file is reported before any folder is created.
  const data::ImageClassificationData data = cli::load_vision_mamba_data(config);
  config["model"] = cli::model_config_for_data(config.at("model"), data);
  const auto train_batches = cli::vision_mamba_batches(config, data.train, true);
  const auto val_batches = cli::vision_mamba_batches(config, data.val, false);
  const auto test_batches = cli::vision_mamba_batches(config, data.test, false);
  const train::LossFn loss =
      cli::classification_loss(config.at("training").at("label_smoothing").get<double>());
  const json session_config = cli::vision_mamba_session_config(config);
  train::resolve_device(session_config.at("trainer").at("device").get<std::string>(),
                        "--training.device");

  train::seed_everything(config.at("training").at("seed").get<uint64_t>());
  const auto model = models::create_model(cli::kVisionMambaModel, config.at("model"));
  auto trainable = train::wrap_module(model);
  cli::TrainingSession session(session_config, *trainable, loss, *train_batches);
  train::Trainer& trainer = session.trainer();
  const train::RunDirectory& run = session.run();
  const std::string experiment = cli::experiment_name(config);
  const json& logging = config.at("logging");
  const bool plots = logging.at("plots").get<bool>();
  auto evaluation = std::make_shared<metrics::ClassificationEvaluation>(data.num_classes());
  trainer.set_evaluation_metrics(evaluation);
  report::TensorBoardCallbackOptions tensorboard;
  tensorboard.log_every_steps = logging.at("log_every_steps").get<int64_t>();
  trainer.add_callback(std::make_shared<report::TensorBoardCallback>(
      (fs::path(logging.at("tensorboard_dir").get<std::string>()) / experiment).string(),
      tensorboard));
  trainer.add_callback(std::make_shared<report::SeedCheckpointCallback>(
      (fs::path(logging.at("checkpoint_dir").get<std::string>()) / experiment).string()));
  if (plots) {
    trainer.add_callback(std::make_shared<report::TrainingCurvesCallback>(
        run.file("training_curves.png"), trainer.log(), "Vision Mamba on " + data.dataset));
  }
  spdlog::info(
      "{}: {} ({} train / {} val / {} test images {}x{}x{}, {} classes) from {}; model {} "
      "({} parameters); {} threads, device {}",
      kProgram, data.dataset, data.train.size(), data.val.size(), data.test.size(), data.channels,
      data.image_size, data.image_size, data.num_classes(), data.data_dir,
      config["model"]["size"].get<std::string>(), trainable->parameter_count(), threads,
      trainer.device().str());

  const train::FitResult fit = trainer.fit(*train_batches, val_batches.get(), test_batches.get());
  // The last pass was the test of the best weights: its confusion matrix is the test's.
  write_test_outputs(run.path(), evaluation->matrix(), data, plots);
  const metrics::ConfusionMatrix& test = evaluation->matrix();
  std::printf(
      "%s: %s after %lld epochs; best val_accuracy %.4f at epoch %lld; test_accuracy "
      "%.4f (%lld of %lld)\n",
      kProgram, fit.end.status.c_str(), static_cast<long long>(fit.end.epochs_completed),
      fit.end.best_value, static_cast<long long>(fit.end.best_epoch), test.accuracy(),
      static_cast<long long>(test.correct()), static_cast<long long>(test.total()));
  std::printf("%s: logs %s, checkpoints %s, tensorboard %s\n", kProgram, run.path().c_str(),
              (fs::path(logging.at("checkpoint_dir").get<std::string>()) / experiment).c_str(),
              (fs::path(logging.at("tensorboard_dir").get<std::string>()) / experiment).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_main(kProgram, argc, argv, run, kUsage);
}
