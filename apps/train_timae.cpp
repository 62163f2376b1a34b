// train_timae: Ti-MAE masked-autoencoder pretraining and classification on UCR .tsv files, with
// the command line of the Lightning implementation (LightningCLI): `fit`, `test`, `validate` and
// `predict`, --model NAME, dotted --model.* / --data.* / --trainer.* flags, --config FILE (YAML as
// Lightning writes it, or JSON), --print_config, --ckpt_path, and Lightning's output tree
// (lightning_logs/version_N/ with checkpoints/epoch=E-step=S.ckpt, config.yaml, hparams.yaml,
// metrics.csv, TensorBoard events). Flags and outputs: docs/train_timae.md.
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
#include "ssmkit/cli/lightning_cli.h"
#include "ssmkit/cli/run_main.h"
#include "ssmkit/cli/training_program.h"
#include "ssmkit/data/class_weights.h"
#include "ssmkit/data/ucr_data_module.h"
#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/text_list.h"
#include "ssmkit/io/yaml_config.h"
#include "ssmkit/metrics/classification_evaluation.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/models/timae.h"
#include "ssmkit/models/timae_for_pretraining.h"
#include "ssmkit/models/timae_layer_lr_scales.h"
#include "ssmkit/ops/random_masking.h"
#include "ssmkit/report/classification_report.h"
#include "ssmkit/report/csv_logger_callback.h"
#include "ssmkit/report/curves_callback.h"
#include "ssmkit/report/lightning_checkpoints.h"
#include "ssmkit/report/plots.h"
#include "ssmkit/report/tensorboard_callback.h"
#include "ssmkit/train/checkpoint.h"
#include "ssmkit/train/device.h"
#include "ssmkit/train/pause_after_epoch.h"
#include "ssmkit/train/seed.h"
#include "ssmkit/util/threads.h"
#include "ssmkit/util/trace.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace ssmkit;

constexpr const char* kProgram = "train_timae";
const char* const kUsage =
    "usage: train_timae fit|test|validate|predict --model NAME [--model.KEY VALUE ...]\n"
    "         [--data.KEY VALUE ...] [--trainer.KEY VALUE ...] [--ckpt_path FILE.ckpt]\n"
    "         [--config FILE.yaml|FILE.json] [--print_config]\n"
    "       (train_timae fit --help lists every flag)";
const char* const kSubcommands[] = {"fit", "test", "validate", "predict"};
const std::vector<std::string> kModelNames = {"TiMAE", "TiMAEForPretraining", "TiMAEMamba",
                                              "TiMAEMambaForPretraining"};
// The Lightning module's optimiser settings: AdamW at lr with PyTorch's default weight decay.
constexpr double kDefaultLearningRate = 1e-3;
constexpr double kDefaultWeightDecay = 0.01;
// Lightning's defaults.
constexpr int64_t kDefaultLogEveryNSteps = 50;
constexpr int64_t kDefaultBatchSize = 64;
// The learning-rate column LearningRateMonitor writes for an AdamW optimiser.
constexpr const char* kLrColumn = "lr-AdamW";

bool is_pretraining(const std::string& model) {
  return model.size() > 14 && model.compare(model.size() - 14, 14, "ForPretraining") == 0;
}

models::TiMAEMixer mixer_of(const std::string& model) {
  return model.rfind("TiMAEMamba", 0) == 0 ? models::TiMAEMixer::kMamba2
                                           : models::TiMAEMixer::kTransformer;
}

// init_args keys that configure the program rather than the network.
const char* const kProgramModelKeys[] = {"lr",
                                         "weight_decay",
                                         "encoder_ckpt_path",
                                         "class_weights",
                                         "label_smoothing",
                                         "layer_lr_decay"};

json default_config(models::TiMAEMixer mixer) {
  json init_args = models::timae_defaults(mixer);
  init_args["lr"] = kDefaultLearningRate;
  init_args["weight_decay"] = kDefaultWeightDecay;
  init_args["encoder_ckpt_path"] = nullptr;
  init_args["class_weights"] = nullptr;  // null: inverse class frequency of the training labels
  init_args["label_smoothing"] = 0.0;
  init_args["layer_lr_decay"] = 1.0;  // 1: every layer at lr
  return {{"seed_everything", nullptr},
          {"model", {{"class_path", ""}, {"init_args", init_args}}},
          {"data",
           {{"batch_size", kDefaultBatchSize},
            {"dataset_path", ""},
            {"val_dataset_path", nullptr},
            {"split_ratio", 0.85},
            {"crop_size", nullptr},
            {"scale_std", 0.0},
            {"jitter_std", 0.0},
            {"pretrain", false},
            {"normalize", false},
            {"class_id_start", nullptr},
            {"mean", nullptr},
            {"std", nullptr}}},
          {"trainer", cli::lightning_trainer_defaults()},
          {"optimizer", nullptr},
          {"lr_scheduler", nullptr},
          {"ckpt_path", nullptr}};
}

// --model NAME, and Lightning's --model.KEY shorthand for model.init_args.KEY.
std::vector<cli::ConfigFlag> config_flags(const json& defaults) {
  std::vector<cli::ConfigFlag> flags = {
      {"model", "model.class_path",
       "TiMAE, TiMAEForPretraining, TiMAEMamba, TiMAEMambaForPretraining"}};
  for (const auto& item : defaults["model"]["init_args"].items())
    flags.push_back({"model." + item.key(), "model.init_args." + item.key(), "model argument"});
  for (const cli::ConfigFlag& flag : cli::lightning_trainer_flags())
    flags.push_back(flag);
  return flags;
}

struct Command {
  json config;
  int threads = 0;
};

// Parses the command line of any subcommand: the defaults depend on the model's kind, so the
// configuration is resolved once to learn the model and again over that model's defaults.
std::unique_ptr<Command> parse_command(const std::string& subcommand, int argc, char** argv) {
  const json probe_defaults = default_config(models::TiMAEMixer::kTransformer);
  const std::vector<cli::ConfigFlag> flags = config_flags(probe_defaults);
  cxxopts::Options options(std::string(kProgram) + " " + subcommand,
                           "Ti-MAE pretraining and classification of UCR time series (Lightning "
                           "command line).");
  cli::add_config_flags(options, flags, probe_defaults);
  cli::add_program_flags(options);
  cli::ParsedArguments args;
  try {
    args = cli::parse_arguments(options, argc, argv);
  } catch (const cxxopts::exceptions::no_such_option& e) {
    // A mistyped model argument is the likely case: name the ones there are.
    std::vector<std::string> keys;
    for (const auto& item : probe_defaults["model"]["init_args"].items())
      keys.push_back(item.key());
    throw InputError(std::string(e.what()) + "; model arguments (--model.KEY): " +
                     io::join_names(keys) + "; --help lists every flag");
  }
  if (args.count("help") > 0) {
    std::cout << options.help() << std::endl;
    return nullptr;
  }
  json probe = cli::resolve_config(args, flags, probe_defaults);
  cli::normalize_lightning_config(probe);
  const std::string model = probe["model"]["class_path"].get<std::string>();
  if (model.empty()) {
    throw InputError("--model: missing; one of " + io::join_names(kModelNames) + "\n" + kUsage);
  }
  if (std::find(kModelNames.begin(), kModelNames.end(), model) == kModelNames.end()) {
    throw InputError("--model: '" + model + "' is unknown; expected one of " +
                     io::join_names(kModelNames));
  }
  auto command = std::make_unique<Command>();
  command->config = cli::resolve_config(args, flags, default_config(mixer_of(model)));
  cli::normalize_lightning_config(command->config);
  command->threads = args["threads"].as<int>();
  if (args["trace_shapes"].as<bool>()) set_trace_shapes(true);
  if (args.count("print_config") > 0) {
    std::cout << io::to_yaml(command->config);
    return nullptr;
  }
  return command;
}

const json& init_args(const json& config) {
  return config.at("model").at("init_args");
}
std::string model_name(const json& config) {
  return config.at("model").at("class_path");
}

// The registry's config of the model: init_args without the program's keys.
json network_config(const json& config) {
  json network = init_args(config);
  for (const char* key : kProgramModelKeys)
    network.erase(key);
  return network;
}

data::UcrDataOptions data_options(const json& config) {
  const json& d = config.at("data");
  data::UcrDataOptions o;
  o.dataset_path = d.at("dataset_path").get<std::string>();
  if (d.at("val_dataset_path").is_string()) o.val_dataset_path = d["val_dataset_path"];
  o.batch_size = d.at("batch_size").get<int64_t>();
  o.pretrain = d.at("pretrain").get<bool>();
  o.normalize = d.at("normalize").get<bool>();
  if (!d.at("class_id_start").is_null()) o.class_id_start = d["class_id_start"].get<int64_t>();
  if (!d.at("crop_size").is_null()) o.crop_size = d["crop_size"].get<int64_t>();
  o.split_ratio = d.at("split_ratio").get<double>();
  o.scale_std = d.at("scale_std").get<double>();
  o.jitter_std = d.at("jitter_std").get<double>();
  if (!d.at("mean").is_null()) o.mean = d["mean"].get<double>();
  if (!d.at("std").is_null()) o.std = d["std"].get<double>();
  return o;
}

// A model error names its flag (--model.mask_ratio) rather than its config key.
std::shared_ptr<models::Model> build_model(const json& config) {
  try {
    return models::create_model(model_name(config), network_config(config));
  } catch (const InputError& e) {
    if (e.key().empty()) throw;
    throw InputError("--model." + e.key() + ": " + e.what(), e.key());
  }
}

// The pretraining and classification models need the matching --data.pretrain.
void check_task(const json& config) {
  const std::string model = model_name(config);
  const bool pretrain = config.at("data").at("pretrain").get<bool>();
  if (is_pretraining(model) != pretrain) {
    throw InputError("--data.pretrain: " + model + " needs --data.pretrain " +
                     (is_pretraining(model) ? "True" : "False"));
  }
}

// What the model sees per example: crop_size steps in training when set, else the series; its
// masking must keep at least one of them.
void check_lengths(const json& config, int64_t length) {
  const json& crop = config.at("data").at("crop_size");
  const int64_t steps = crop.is_null() || crop.get<int64_t>() == 0 ? length : crop.get<int64_t>();
  const int64_t seq_len = init_args(config).at("seq_len").get<int64_t>();
  if (seq_len > 0 && seq_len != steps) {
    throw InputError("--model.seq_len: " + std::to_string(seq_len) +
                     ", but the training series have " + std::to_string(steps) + " steps" +
                     (steps == length ? "" : " after --data.crop_size"));
  }
  // A mask that keeps no step fails at the first training step: say so before the run folder.
  const std::string ratio_key =
      is_pretraining(model_name(config)) ? "mask_ratio" : "finetune_mask_ratio";
  const double ratio = init_args(config).value(ratio_key, 0.0);
  if (ratio > 0.0) {
    try {
      ops::kept_steps(steps, ratio);
    } catch (const InputError& e) {
      throw InputError("--model." + ratio_key + ": " + e.what(), ratio_key);
    }
  }
}

std::vector<double> class_weights(const json& config, const at::Tensor& labels, int64_t classes) {
  const json& given = init_args(config).at("class_weights");
  if (given.is_null()) return data::inverse_frequency_weights(labels, classes);
  const auto weights = given.get<std::vector<double>>();
  if (static_cast<int64_t>(weights.size()) != classes) {
    throw InputError("--model.class_weights: " + std::to_string(weights.size()) + " weights for " +
                     std::to_string(classes) + " classes");
  }
  return weights;
}

train::LossFn make_loss(const json& config, const std::vector<double>& weights,
                        const c10::Device& device) {
  if (is_pretraining(model_name(config))) return models::masked_reconstruction_loss;
  // Checkpoints written before the flag existed have no such key: no smoothing.
  const double smoothing = init_args(config).value("label_smoothing", 0.0);
  if (!(smoothing >= 0.0 && smoothing < 1.0)) {
    throw InputError("--model.label_smoothing: " + std::to_string(smoothing) + ", expected [0, 1)");
  }
  // On the device up front: a copy inside the loss would break CUDA-graph capture.
  const at::Tensor weight = torch::tensor(weights, torch::kFloat32).to(device);
  return [weight, smoothing](const at::Tensor& logits, const at::Tensor& labels) {
    namespace F = torch::nn::functional;
    return F::cross_entropy(logits.to(torch::kFloat32), labels,
                            F::CrossEntropyFuncOptions().weight(weight).label_smoothing(smoothing));
  };
}

void load_encoder(const json& config, models::Model& model) {
  const json& path = init_args(config).at("encoder_ckpt_path");
  if (path.is_null() || path.get<std::string>().empty()) return;
  auto* classifier = dynamic_cast<models::TiMAEImpl*>(&model);
  if (classifier == nullptr) {
    throw InputError(
        "--model.encoder_ckpt_path: only the classifiers (TiMAE, TiMAEMamba) load an encoder");
  }
  try {
    train::load_submodule_weights(path.get<std::string>(), "encoder", *classifier->encoder);
  } catch (const InputError& e) {
    throw InputError(std::string("--model.encoder_ckpt_path: ") + e.what());
  }
  spdlog::info("{}: encoder weights from {}", kProgram, path.get<std::string>());
}

// The optimizer's lr_scales for --model.layer_lr_decay (models/timae_layer_lr_scales.h).
std::vector<std::pair<std::string, double>> layer_lr_scales(const json& config,
                                                            const models::Model& model) {
  const double decay = init_args(config).at("layer_lr_decay").get<double>();
  const auto* classifier = dynamic_cast<const models::TiMAEImpl*>(&model);
  if (classifier == nullptr) {
    if (decay == 1.0) return {};
    throw InputError(
        "--model.layer_lr_decay: only the classifiers (TiMAE, TiMAEMamba) decay the "
        "rate by layer; leave it at 1 for " +
        model_name(config));
  }
  try {
    return models::timae_layer_lr_scales(classifier->options(), decay);
  } catch (const InputError& e) {
    throw InputError(std::string("--model.layer_lr_decay: ") + e.what(), e.key());
  }
}

// hparams.yaml: the model's arguments as they were used.
void write_run_yaml(const std::string& folder, const json& config) {
  write_file_atomic((fs::path(folder) / "config.yaml").string(), io::to_yaml(config));
  write_file_atomic((fs::path(folder) / "hparams.yaml").string(), io::to_yaml(init_args(config)));
}

std::vector<std::string> csv_columns(bool classifier) {
  std::vector<std::string> columns = {"train_loss", "train_loss_epoch", "val_loss"};
  if (classifier) {
    for (const char* c :
         {"val_accuracy", "val_macro_f1", "test_loss", "test_accuracy", "test_macro_f1"})
      columns.push_back(c);
  } else {
    columns.push_back("test_loss");
  }
  return columns;
}

// ---------------------------------------------------------------------------------------------
// fit

int run_fit(const Command& command) {
  json config = command.config;
  const std::string name = model_name(config);
  const bool classifier = !is_pretraining(name);
  check_task(config);
  const int threads = init_threads(command.threads);
  const c10::Device device =
      train::resolve_device(cli::lightning_device(config["trainer"]), "--trainer.accelerator");
  const json& resume = config.at("ckpt_path");
  if (resume.is_string() && !resume.get<std::string>().empty()) {
    // Checked before the data is read, and named by this program's flag.
    try {
      (void)train::read_checkpoint_state(resume.get<std::string>());
    } catch (const InputError& e) {
      throw InputError(std::string("--ckpt_path: ") + e.what());
    }
  }

  // Data, model and encoder first: a bad input is reported before any folder is created.
  data::UcrDataOptions data_opts = data_options(config);
  const data::UcrFitData data = data::load_ucr_fit_data(data_opts);
  check_lengths(config, data.length);
  json& resolved_data = config["data"];
  resolved_data["class_id_start"] = data.class_id_start;
  if (data_opts.normalize) {
    resolved_data["mean"] = data.mean;
    resolved_data["std"] = data.std;
  }
  json& args = config["model"]["init_args"];
  std::vector<double> weights;
  if (classifier) {
    args["num_classes"] = data.num_classes;
    weights = class_weights(config, data.train.labels, data.num_classes);
    args["class_weights"] = weights;
  }
  const uint64_t seed = cli::lightning_seed(config);
  train::seed_everything(seed);
  const std::shared_ptr<models::Model> model = build_model(config);
  load_encoder(config, *model);
  auto trainable = train::wrap_module(model);
  const auto train_batches = data::ucr_training_batches(data.train, data_opts, seed);
  const auto val_batches = data::ucr_evaluation_batches(data.val, data_opts);

  const std::string logs = cli::lightning_logs_folder(config);
  json session_config = cli::lightning_training_config(config, args.at("lr").get<double>(),
                                                       args.at("weight_decay").get<double>(),
                                                       cli::next_lightning_version(logs));
  session_config["optimizer"]["lr_scales"] = layer_lr_scales(config, *model);
  json run_config = session_config;
  run_config["lightning"] = config;
  cli::TrainingSession session(run_config, *trainable, make_loss(config, weights, device),
                               *train_batches);
  train::Trainer& trainer = session.trainer();
  const train::RunDirectory& run = session.run();
  write_run_yaml(run.path(), config);
  if (classifier) {
    trainer.set_evaluation_metrics(
        std::make_shared<metrics::ClassificationEvaluation>(data.num_classes));
  }
  const json& trainer_section = config["trainer"];
  const bool lr_monitor = cli::has_lightning_callback(trainer_section, cli::kLearningRateMonitor);
  report::CsvLoggerOptions csv;
  csv.path = run.file("metrics.csv");
  csv.columns = csv_columns(classifier);
  csv.log_every_n_steps = trainer_section["log_every_n_steps"].is_null()
                              ? kDefaultLogEveryNSteps
                              : trainer_section["log_every_n_steps"].get<int64_t>();
  if (lr_monitor) csv.lr_column = kLrColumn;
  trainer.add_callback(std::make_shared<report::CsvLoggerCallback>(csv));
  trainer.add_callback(std::make_shared<report::LightningCheckpointCallback>());
  report::TensorBoardCallbackOptions tensorboard;
  tensorboard.log_every_steps = csv.log_every_n_steps;
  trainer.add_callback(std::make_shared<report::TensorBoardCallback>(run.path(), tensorboard));
  trainer.add_callback(std::make_shared<report::TrainingCurvesCallback>(
      run.file("training_curves.png"), trainer.log(),
      name + " on " + fs::path(data_opts.dataset_path).filename().string()));
  spdlog::info(
      "{}: {} on {} ({} train / {} val series of {} steps, {} classes), {} parameters, "
      "{} threads",
      kProgram, name, data_opts.dataset_path, data.train.inputs.size(0), data.val.inputs.size(0),
      data.length, classifier ? data.num_classes : 0, trainable->parameter_count(), threads);

  if (!trainer_section["pause_after_epoch"].is_null()) {
    trainer.add_callback(std::make_shared<train::PauseAfterEpoch>(
        trainer_section["pause_after_epoch"].get<int64_t>()));
  }
  const train::FitResult fit = trainer.fit(*train_batches, val_batches.get());
  std::printf("%s: %s after %lld epochs (%lld steps); best val_loss %.6f at epoch %lld\n", kProgram,
              fit.end.status.c_str(), static_cast<long long>(fit.end.epochs_completed),
              static_cast<long long>(fit.end.global_step), fit.end.best_value,
              static_cast<long long>(fit.end.best_epoch));
  std::printf("%s: run folder %s\n", kProgram, run.path().c_str());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// test, validate, predict: a checkpoint's model on a file

struct Evaluation {
  metrics::ConfusionMatrix matrix{2};
  double loss = 0.0;
  at::Tensor predictions;  // (N) class indices (classifiers)
};

Evaluation evaluate(models::Model& model, const json& config, const data::UcrSeries& series,
                    const data::UcrDataOptions& options, const c10::Device& device) {
  const bool classifier = !is_pretraining(model_name(config));
  const int64_t classes = classifier ? init_args(config).at("num_classes").get<int64_t>() : 2;
  Evaluation out{metrics::ConfusionMatrix(classes), 0.0, at::Tensor()};
  const auto batches = data::ucr_evaluation_batches(series, options);
  const train::LossFn loss =
      make_loss(config,
                classifier ? init_args(config).at("class_weights").get<std::vector<double>>()
                           : std::vector<double>{},
                device);
  torch::NoGradGuard no_grad;
  model.eval();
  batches->reset(1);
  data::Batch batch;
  std::vector<at::Tensor> predictions;
  double loss_sum = 0.0;
  while (batches->next(batch)) {
    const at::Tensor inputs = batch.inputs.to(device);
    const at::Tensor targets = batch.targets.to(device);
    const at::Tensor outputs = model.forward(inputs);
    loss_sum += loss(outputs, targets).item<double>() * static_cast<double>(inputs.size(0));
    if (classifier) {
      out.matrix.update(outputs.cpu(), targets.cpu());
      predictions.push_back(outputs.argmax(-1).cpu());
    }
  }
  out.loss = loss_sum / static_cast<double>(series.inputs.size(0));
  if (classifier) out.predictions = torch::cat(predictions);
  return out;
}

json class_labels(int64_t classes, int64_t start) {
  json names = json::array();
  for (int64_t k = 0; k < classes; ++k)
    names.push_back(std::to_string(start + k));
  return names;
}

int run_evaluation(const std::string& mode, const Command& command) {
  json config = command.config;
  const json& ckpt = config.at("ckpt_path");
  if (!ckpt.is_string() || ckpt.get<std::string>().empty()) {
    throw InputError("--ckpt_path: missing; " + mode + " needs the checkpoint of a fit run");
  }
  const std::string checkpoint = ckpt.get<std::string>();
  init_threads(command.threads);
  const c10::Device device =
      train::resolve_device(cli::lightning_device(config["trainer"]), "--trainer.accelerator");
  const train::CheckpointState state = train::read_checkpoint_state(checkpoint);
  if (!state.config.contains("lightning")) {
    throw InputError("--ckpt_path: " + checkpoint + " was not written by " + kProgram);
  }
  // The network is the checkpoint's; the command line picks the data and the outputs.
  const json& trained = state.config["lightning"];
  if (model_name(config) != model_name(trained)) {
    throw InputError("--model: " + model_name(config) + ", but " + checkpoint + " holds a " +
                     model_name(trained));
  }
  config["model"] = trained["model"];
  for (const char* key : {"class_id_start", "mean", "std", "normalize"})
    config["data"][key] = trained["data"][key];
  data::UcrDataOptions options = data_options(config);
  options.pretrain = trained["data"]["pretrain"].get<bool>();
  const bool classifier = !is_pretraining(model_name(config));
  const int64_t classes = classifier ? init_args(config).at("num_classes").get<int64_t>() : 0;
  data::UcrSeries series;
  if (mode == "validate") {
    series = data::load_ucr_fit_data(options).val;
  } else {
    series = data::load_ucr_eval_data(
        options.dataset_path, options, config["data"]["class_id_start"].get<int64_t>(), classes,
        options.normalize ? config["data"]["mean"].get<double>() : 0.0,
        options.normalize ? config["data"]["std"].get<double>() : 1.0);
  }
  const std::shared_ptr<models::Model> model = build_model(config);
  auto trainable = train::wrap_module(model);
  trainable->to(device);
  const train::CheckpointState loaded =
      train::load_checkpoint(checkpoint, *trainable, nullptr, device, /*restore_rng=*/false);
  if (train::load_weight_average(loaded, checkpoint, *model)) {
    spdlog::info("{} {}: the run's weight average (EMAWeightAveraging)", kProgram, mode);
  }
  const Evaluation result = evaluate(*model, config, series, options, device);

  // Outputs in a new version folder, as Lightning's test and validate runs make one.
  const std::string logs = cli::lightning_logs_folder(config);
  const fs::path folder = fs::path(logs) / cli::next_lightning_version(logs);
  fs::create_directories(folder);
  write_run_yaml(folder.string(), config);
  const std::string phase = mode == "validate" ? "val" : "test";
  json summary = {{"checkpoint", checkpoint},
                  {"checkpoint_epoch", state.epoch},
                  {"dataset_path", series.path},
                  {"series", series.inputs.size(0)},
                  {phase + "_loss", result.loss}};
  std::printf("%s %s: %s (epoch %lld) on %s, %lld series\n", kProgram, mode.c_str(),
              checkpoint.c_str(), static_cast<long long>(state.epoch), series.path.c_str(),
              static_cast<long long>(series.inputs.size(0)));
  if (classifier) {
    const int64_t start = config["data"]["class_id_start"].get<int64_t>();
    std::vector<std::string> names;
    for (const auto& n : class_labels(classes, start))
      names.push_back(n.get<std::string>());
    const auto& m = result.matrix;
    summary[phase + "_accuracy"] = m.accuracy();
    summary[phase + "_macro_f1"] = m.macro_average().f1;
    summary["classification_report"] = report::classification_report_json(m, names);
    const at::Tensor counts = m.to_tensor();
    json raw = json::array(), normalized = json::array();
    for (int64_t i = 0; i < classes; ++i) {
      json row = json::array(), row_norm = json::array();
      const double total = counts[i].sum().item<double>();
      for (int64_t j = 0; j < classes; ++j) {
        row.push_back(counts[i][j].item<int64_t>());
        row_norm.push_back(total > 0 ? counts[i][j].item<double>() / total : 0.0);
      }
      raw.push_back(row);
      normalized.push_back(row_norm);
    }
    summary["confusion_matrix"] = raw;
    summary["confusion_matrix_normalized"] = normalized;
    summary["class_labels"] = names;
    const std::string text = report::classification_report(m, names, 4);
    std::printf(
        "%s_accuracy %.4f  %s_macro_f1 %.4f  %s_loss %.4f\n%s\nconfusion matrix (rows: true, "
        "columns: predicted):\n%s\n",
        phase.c_str(), m.accuracy(), phase.c_str(), m.macro_average().f1, phase.c_str(),
        result.loss, text.c_str(), c10::str(counts).c_str());
    write_file_atomic((folder / "classification_report.txt").string(), text);
    report::plot_confusion_matrix(
        (folder / "confusion_matrix.png").string(), m, names,
        model_name(config) + " on " + fs::path(series.path).filename().string());
    if (mode == "predict") {
      std::string csv = "index,predicted,label\n";
      const at::Tensor labels = series.labels;
      for (int64_t i = 0; i < result.predictions.size(0); ++i) {
        csv += std::to_string(i) + "," +
               std::to_string(result.predictions[i].item<int64_t>() + start) + "," +
               std::to_string(labels[i].item<int64_t>() + start) + "\n";
      }
      write_file_atomic((folder / "predictions.csv").string(), csv);
    }
  } else {
    std::printf("%s_loss %.6f (mean squared error over the masked steps)\n", phase.c_str(),
                result.loss);
  }
  std::map<std::string, double> row;
  for (const auto& item : summary.items()) {
    if (item.value().is_number_float()) row[item.key()] = item.value().get<double>();
  }
  report::CsvLoggerOptions csv;
  csv.path = (folder / "metrics.csv").string();
  csv.columns = {phase + "_loss"};
  if (classifier) {
    csv.columns.push_back(phase + "_accuracy");
    csv.columns.push_back(phase + "_macro_f1");
  }
  report::CsvLoggerCallback(csv).log_row(state.epoch - 1, state.global_step, row);
  write_file_atomic((folder / (phase + "_metrics.json")).string(), summary.dump(2) + "\n");
  std::printf("%s %s: wrote %s\n", kProgram, mode.c_str(), folder.string().c_str());
  return 0;
}

int run(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]).rfind('-', 0) == 0) {
    if (argc >= 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
      std::cout << kUsage << std::endl;
      return 0;
    }
    throw InputError(std::string("missing subcommand (fit, test, validate or predict)\n") + kUsage);
  }
  const std::string subcommand = argv[1];
  if (std::find(std::begin(kSubcommands), std::end(kSubcommands), subcommand) ==
      std::end(kSubcommands)) {
    throw InputError("'" + subcommand +
                     "' is not a subcommand; expected fit, test, validate or predict");
  }
  const std::unique_ptr<Command> command = parse_command(subcommand, argc - 1, argv + 1);
  if (!command) return 0;
  if (subcommand == "fit") return run_fit(*command);
  return run_evaluation(subcommand, *command);
}

}  // namespace

// No usage text after an error: each error stays one line, and names its flag.
int main(int argc, char** argv) {
  return cli::run_main(kProgram, argc, argv, run);
}
