// train_c_mamba: trains CMamba on the forecasting windows of a prepare_data .npz, then scores the
// best weights on the test windows (normalised and original units). `train_c_mamba forecast`
// scores a saved checkpoint instead. Flags and outputs: docs/train_c_mamba.md.
#include <c10/util/Exception.h>
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
#include "ssmkit/cli/training_program.h"
#include "ssmkit/data/channel_mixup_batch_source.h"
#include "ssmkit/data/forecast_npz.h"
#include "ssmkit/data/tensor_batch_source.h"
#include "ssmkit/io/error.h"
#include "ssmkit/metrics/regression_evaluation.h"
#include "ssmkit/models/cmamba.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/report/curves_callback.h"
#include "ssmkit/report/forecast_report.h"
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

constexpr const char* kProgram = "train_c_mamba";
constexpr const char* kForecastMode = "forecast";
constexpr const char* kModelName = "CMamba";

// Defaults of the original Python training script.
constexpr double kDefaultLearningRate = 1e-3;
constexpr int64_t kDefaultEpochs = 10;
constexpr int64_t kDefaultBatchSize = 32;
// The official CMamba protocol: Adam, early stopping after 3 epochs without improvement (and the
// default seed, train::kDefaultSeed).
constexpr int64_t kDefaultPatience = 3;

const char* const kUsage =
    "usage: train_c_mamba --train_dataset FILE.npz [--test_dataset FILE.npz] [options]\n"
    "       train_c_mamba forecast --checkpoint RUN_DIR|FILE.pt --test_dataset FILE.npz "
    "--output_dir DIR\n"
    "       (--help lists every option)";

// Model flags: (flag, key under model.config, help). The flag names follow the Python script.
struct ModelFlag {
  const char* flag;
  const char* key;
  const char* help;
};
const ModelFlag kModelFlags[] = {
    {"seq_len", "seq_len", "lookback steps L of each window"},
    {"forecast_len", "pred_len", "forecast steps H of each window"},
    {"input_dim", "enc_in", "channels C of the series"},
    {"hidden_dim", "d_model", "token width of the Mamba layers"},
    {"num_layers", "n_layers", "CMamba layers"},
    {"patch_len", "patch_len", "time steps per patch"},
    {"stride", "stride", "steps between patch starts"},
    {"d_state", "d_state", "state size N of the selective scan"},
    {"sigma", "sigma", "std of the channel-mixup coefficients (0 = no mixup)"},
    {"reduction", "reduction", "reduction ratio of the channel MLPs (GDD-MLP)"},
    {"dropout", "dropout", "dropout inside every layer"},
    {"encoder", "encoder", "encoder layers: cmamba, or st (spatial attention + temporal Mamba)"},
    {"mixer", "mixer", "Mamba of the layers: mamba (causal conv, learned D) or m_mamba (official)"},
};

json default_config() {
  json config = cli::training_config_defaults();
  config["optimizer"]["name"] = "adam";
  config["optimizer"]["lr"] = kDefaultLearningRate;
  config["trainer"]["epochs"] = kDefaultEpochs;
  config["trainer"]["early_stopping"]["patience"] = kDefaultPatience;
  config["data"] = {{"train_dataset", ""}, {"test_dataset", ""}, {"batch_size", kDefaultBatchSize}};
  config["loss"] = "mse";
  config["model"] = {{"name", kModelName}, {"config", models::CMambaOptions()}};
  return config;
}

std::vector<cli::ConfigFlag> config_flags() {
  std::vector<cli::ConfigFlag> flags = {
      {"train_dataset", "data.train_dataset",
       "prepare_data .npz with X_train/y_train and X_val/y_val"},
      {"test_dataset", "data.test_dataset",
       "prepare_data .npz with X_test/y_test (empty: the train dataset)"},
      {"batch_size", "data.batch_size", "windows per batch"},
      {"loss", "loss", "training loss: mse or mae"},
  };
  for (const ModelFlag& m : kModelFlags)
    flags.push_back({m.flag, std::string("model.config.") + m.key, m.help});
  // The common training flags, with the Python script's names for the rate and the epochs.
  for (cli::ConfigFlag flag : cli::training_flags()) {
    if (flag.flag == "lr") flag.flag = "learning_rate";
    if (flag.flag == "epochs") flag.flag = "num_epochs";
    flags.push_back(flag);
  }
  return flags;
}

// The flag that sets model key `key`, for messages ("--forecast_len" for pred_len).
std::string flag_of_model_key(const std::string& key) {
  for (const ModelFlag& m : kModelFlags) {
    if (key == m.key) return std::string("--") + m.flag;
  }
  return "model.config." + key;
}

// The model of a configuration, through the registry; a bad model key names its flag.
std::shared_ptr<models::Model> build_model(const json& model_section) {
  const std::string name = model_section.at("name").get<std::string>();
  try {
    return models::create_model(name, model_section.at("config"));
  } catch (const InputError& e) {
    if (e.key().empty()) throw;
    throw InputError(flag_of_model_key(e.key()) + ": " + e.what(), e.key());
  }
}

// The dataset's windows must have the model's lengths and channels.
void check_dataset_matches_model(const data::ForecastDataset& data, const json& model_config,
                                 const std::string& hint) {
  const struct {
    const char* key;
    int64_t actual;
    const char* what;
  } checks[] = {{"enc_in", data.channels, "channels"},
                {"seq_len", data.input_length, "input steps per window"},
                {"pred_len", data.forecast_length, "forecast steps per window"}};
  for (const auto& check : checks) {
    const int64_t wanted = model_config.at(check.key).get<int64_t>();
    if (wanted != check.actual) {
      throw InputError(flag_of_model_key(check.key) + ": " + std::to_string(wanted) + ", but " +
                       data.path + " has " + std::to_string(check.actual) + " " + check.what +
                       " (X " + c10::str(data.splits.begin()->second.inputs.sizes()) + ", y " +
                       c10::str(data.splits.begin()->second.targets.sizes()) + ")" + hint);
    }
  }
}

train::LossFn make_loss(const std::string& name) {
  if (name == "mse") {
    return [](const at::Tensor& outputs, const at::Tensor& targets) {
      return torch::mse_loss(outputs, targets);
    };
  }
  if (name == "mae") {
    return [](const at::Tensor& outputs, const at::Tensor& targets) {
      return torch::l1_loss(outputs, targets);
    };
  }
  throw InputError("--loss: '" + name + "' is unknown, expected mse or mae");
}

void print_report(const report::ForecastReport& report, const report::ForecastOutputFiles& files) {
  std::printf("%s: %lld %s windows: MSE %.4f MAE %.4f (normalised), MSE %.4f MAE %.4f (original)\n",
              kProgram, static_cast<long long>(report.windows), report.split.c_str(),
              report.normalized.mse, report.normalized.mae, report.original.mse,
              report.original.mae);
  std::printf("%s: wrote %s, %s%s%s\n", kProgram, files.metrics.c_str(), files.predictions.c_str(),
              files.plot.empty() ? "" : ", ", files.plot.c_str());
}

// ---------------------------------------------------------------------------------------------
// Training

int run_training(int argc, char** argv) {
  const json defaults = default_config();
  const std::vector<cli::ConfigFlag> flags = config_flags();
  cxxopts::Options options(kProgram,
                           "Trains CMamba on prepare_data forecasting windows and tests the best "
                           "weights; `train_c_mamba forecast --help` scores a saved checkpoint.");
  cli::add_config_flags(options, flags, defaults);
  cli::add_program_flags(options);
  const cli::ParsedArguments args = cli::parse_arguments(options, argc, argv);
  if (args.count("help") > 0) {
    std::cout << options.help() << std::endl;
    return 0;
  }
  json config = cli::resolve_training_config(args, flags, defaults);
  if (cli::print_config_if_asked(args, config, std::cout)) return 0;
  const int threads = init_threads(args["threads"].as<int>());
  if (args["trace_shapes"].as<bool>()) set_trace_shapes(true);

  json& data_section = config["data"];
  const std::string train_path = data_section.at("train_dataset").get<std::string>();
  if (train_path.empty()) throw InputError("--train_dataset: missing\n" + std::string(kUsage));
  if (data_section.at("test_dataset").get<std::string>().empty()) {
    data_section["test_dataset"] = train_path;
  }
  const std::string test_path = data_section.at("test_dataset").get<std::string>();
  const int64_t batch_size = data_section.at("batch_size").get<int64_t>();
  if (batch_size < 1) throw InputError("--batch_size: must be positive");
  const train::LossFn loss = make_loss(config.at("loss").get<std::string>());
  const uint64_t seed = config.at("run").at("seed").get<uint64_t>();

  // Data first: a bad file is reported before any model is built or folder created.
  const data::ForecastDataset train_data = data::load_forecast_npz(train_path, {"train", "val"});
  const data::ForecastDataset test_data = data::load_forecast_npz(test_path, {"test"});
  const json& model_config = config.at("model").at("config");
  check_dataset_matches_model(train_data, model_config, "");
  check_dataset_matches_model(test_data, model_config, "");
  const data::ForecastWindows& train_windows = train_data.split("train");
  // Full batches only, as the official loader: a last, tiny batch would weigh as much as a full
  // one.
  if (train_windows.size() < batch_size) {
    throw InputError("--batch_size: " + std::to_string(batch_size) + " is more than the " +
                     std::to_string(train_windows.size()) + " training windows of " + train_path);
  }

  // Checked before the run folder is created, so a bad device leaves nothing behind.
  train::resolve_device(config.at("trainer").at("device").get<std::string>(), "--device");

  train::seed_everything(seed);
  const std::shared_ptr<models::Model> model = build_model(config.at("model"));
  const models::CMambaOptions model_options = models::cmamba_options_from_json(model_config);
  auto trainable = train::wrap_module(model);

  data::TensorBatchSourceOptions train_options;
  train_options.batch_size = batch_size;
  train_options.shuffle = true;
  train_options.drop_last = true;
  train_options.seed = seed;
  data::TensorBatchSource train_batches(train_windows.inputs, train_windows.targets, train_options);
  data::TensorBatchSourceOptions eval_options;
  eval_options.batch_size = batch_size;
  const auto& val_windows = train_data.split("val");
  const auto& test_windows = test_data.split("test");
  data::TensorBatchSource val_batches(val_windows.inputs, val_windows.targets, eval_options);
  data::TensorBatchSource test_batches(test_windows.inputs, test_windows.targets, eval_options);
  std::unique_ptr<data::ChannelMixupBatchSource> mixed;
  if (model_options.channel_mixup && model_options.sigma > 0) {
    mixed =
        std::make_unique<data::ChannelMixupBatchSource>(train_batches, model_options.sigma, seed);
  }
  data::BatchSource& train_source = mixed ? static_cast<data::BatchSource&>(*mixed) : train_batches;

  cli::TrainingSession session(config, *trainable, loss, train_source);
  train::Trainer& trainer = session.trainer();
  const train::RunDirectory& run = session.run();
  trainer.set_evaluation_metrics(std::make_shared<metrics::RegressionEvaluation>());
  trainer.add_callback(std::make_shared<report::TensorBoardCallback>(run.file("tensorboard")));
  trainer.add_callback(std::make_shared<report::TrainingCurvesCallback>(
      run.file("training_curves.png"), trainer.log(),
      std::string("CMamba on ") + fs::path(train_path).filename().string()));
  spdlog::info("{}: {} train / {} val / {} test windows of {} -> {} steps, {} channels; {} threads",
               kProgram, train_windows.size(), val_windows.size(), test_windows.size(),
               train_data.input_length, train_data.forecast_length, train_data.channels, threads);

  const train::FitResult fit = trainer.fit(train_source, &val_batches, &test_batches);
  // fit() left the best weights in the model for its test pass.
  const report::ForecastReport report =
      report::evaluate_forecasts(*trainable, test_data, "test", batch_size, trainer.device());
  const json context = {{"checkpoint", run.checkpoint("best")},
                        {"status", fit.end.status},
                        {"epochs_completed", fit.end.epochs_completed},
                        {"best_epoch", fit.end.best_epoch}};
  print_report(report, report::write_forecast_outputs(run.path(), report, test_data, context));
  std::printf("%s: run folder %s (%s after %lld epochs)\n", kProgram, run.path().c_str(),
              fit.end.status.c_str(), static_cast<long long>(fit.end.epochs_completed));
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Forecast mode: a checkpoint and a dataset in, scores and figures out.

// The checkpoint of a run folder: its best weights, else its last.
std::string forecast_checkpoint(const std::string& checkpoint_or_run_dir) {
  const fs::path best = fs::path(checkpoint_or_run_dir) / "checkpoints" / "best.pt";
  if (fs::is_directory(checkpoint_or_run_dir) && fs::exists(best)) return best.string();
  try {
    return train::resolve_checkpoint_path(checkpoint_or_run_dir);
  } catch (const InputError&) {
    throw InputError("--checkpoint: " + checkpoint_or_run_dir +
                     ": no checkpoint file, nor a run folder with checkpoints/best.pt or last.pt");
  }
}

int run_forecast(int argc, char** argv) {
  cxxopts::Options options(std::string(kProgram) + " forecast",
                           "Scores a saved CMamba checkpoint on the windows of a prepare_data .npz "
                           "and writes forecast_metrics.json, forecasts.png and predictions.npz.");
  // clang-format off
  options.add_options()
      ("checkpoint", "a run folder (its best.pt) or a checkpoint .pt", cxxopts::value<std::string>())
      ("test_dataset", "prepare_data .npz holding X_<split>/y_<split>",
       cxxopts::value<std::string>())
      ("output_dir", "folder for the outputs (created when missing)", cxxopts::value<std::string>())
      ("split", "which windows of the .npz: test, val or train",
       cxxopts::value<std::string>()->default_value("test"))
      ("batch_size", "windows per forward pass (0: the run's batch size)",
       cxxopts::value<int64_t>()->default_value("0"))
      ("device", "cpu, cuda, cuda:<index> or auto", cxxopts::value<std::string>()->default_value("cpu"))
      ("threads", "CPU threads (0: SSMKIT_NUM_THREADS, OMP_NUM_THREADS or all cores)",
       cxxopts::value<int>()->default_value("0"))
      ("h,help", "print this help");
  // clang-format on
  const cli::ParsedArguments args = cli::parse_arguments(options, argc, argv);
  if (args.count("help") > 0) {
    std::cout << options.help() << std::endl;
    return 0;
  }
  for (const char* required : {"checkpoint", "test_dataset", "output_dir"}) {
    if (args.count(required) == 0) {
      throw InputError(std::string("--") + required + ": missing\n" + kUsage);
    }
  }
  const std::string split = args["split"].as<std::string>();
  if (split != "test" && split != "val" && split != "train") {
    throw InputError("--split: '" + split + "' is unknown, expected test, val or train");
  }
  init_threads(args["threads"].as<int>());
  const c10::Device device = train::resolve_device(args["device"].as<std::string>());

  const std::string checkpoint = forecast_checkpoint(args["checkpoint"].as<std::string>());
  const train::CheckpointState state = train::read_checkpoint_state(checkpoint);
  if (!state.config.contains("model") || !state.config["model"].contains("config")) {
    throw InputError("--checkpoint: " + checkpoint + " holds no model configuration");
  }
  const std::string model_name = state.config["model"].value("name", "");
  if (model_name != kModelName) {
    throw InputError("--checkpoint: " + checkpoint + " holds a '" + model_name +
                     "' model, expected " + kModelName);
  }
  const json& model_config = state.config["model"]["config"];
  const std::string test_path = args["test_dataset"].as<std::string>();
  const data::ForecastDataset data = data::load_forecast_npz(test_path, {split});
  check_dataset_matches_model(data, model_config, "; the model of " + checkpoint + " expects it");

  const std::shared_ptr<models::Model> model = build_model(state.config["model"]);
  auto trainable = train::wrap_module(model);
  trainable->to(device);
  train::load_checkpoint(checkpoint, *trainable, nullptr, device, /*restore_rng=*/false);
  int64_t batch_size = args["batch_size"].as<int64_t>();
  if (batch_size < 0) throw InputError("--batch_size: must be >= 0 (0: the run's batch size)");
  if (batch_size == 0) {
    batch_size = state.config.value("data", json::object()).value("batch_size", kDefaultBatchSize);
  }
  spdlog::info("{} forecast: {} (epoch {}), {} {} windows", kProgram, checkpoint, state.epoch,
               data.split(split).size(), split);
  const report::ForecastReport report =
      report::evaluate_forecasts(*trainable, data, split, batch_size, device);
  const json context = {{"checkpoint", checkpoint}, {"checkpoint_epoch", state.epoch}};
  print_report(report, report::write_forecast_outputs(args["output_dir"].as<std::string>(), report,
                                                      data, context));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_main(
      kProgram, argc, argv,
      [](int count, char** words) {
        if (count > 1 && std::string(words[1]) == kForecastMode) {
          return run_forecast(count - 1, words + 1);
        }
        return run_training(count, words);
      },
      kUsage);
}
