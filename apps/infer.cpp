// infer: predictions of a trained S4Model (s4model's <checkpoint_dir>/<modelname>/) for new CSV
// rows, encoded with the scaler and classes saved with the model, or for the test split of the
// image set it was trained on. Writes <results_dir>/<modelname>/<input stem>_predictions.csv (the
// input columns, the prediction, and per-class probabilities); when the rows hold the target
// column it also scores them, as s4model scored its test split. Flags: docs/s4model.md.
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <cxxopts.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "ssmkit/cli/config_flags.h"
#include "ssmkit/cli/run_main.h"
#include "ssmkit/cli/s4_program.h"
#include "ssmkit/data/image_sequences.h"
#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/csv.h"
#include "ssmkit/io/error.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/train/checkpoint.h"
#include "ssmkit/train/device.h"
#include "ssmkit/train/run_directory.h"
#include "ssmkit/train/trainer.h"
#include "ssmkit/util/heap_reuse.h"
#include "ssmkit/util/threads.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace ssmkit;

constexpr const char* kProgram = "infer";
constexpr const char* kModelName = "S4Model";
const char* const kUsage =
    "usage: infer --dataset FILE.csv|mnist|fashion_mnist|cifar10 --modelname NAME "
    "[--independent_variables F1 F2 ...] [--output FILE]\n       (--help lists every option)";

// The model's best checkpoint, else its last.
std::string model_checkpoint(const std::string& checkpoint_dir, const std::string& name) {
  const fs::path run = fs::path(checkpoint_dir) / name;
  const fs::path best = run / "checkpoints" / "best.pt";
  if (fs::exists(best)) return best.string();
  try {
    return train::resolve_checkpoint_path(run.string());
  } catch (const InputError&) {
    throw InputError("--modelname: " + run.string() +
                     " holds no checkpoint (train it with s4model --modelname " + name + ")");
  }
}

// The parts of S4Data a trained model carries in its configuration.
cli::S4Data model_data(const json& data_section, const std::string& checkpoint) {
  cli::S4Data out;
  try {
    out.classification = data_section.at("classification").get<bool>();
    out.class_names = data_section.at("class_names").get<std::vector<std::string>>();
  } catch (const json::exception&) {
    throw InputError("--modelname: " + checkpoint + " holds no class or task information");
  }
  if (data_section.contains("encoding")) {
    out.encoding = data::TabularEncoding::from_json(data_section.at("encoding"), checkpoint);
  }
  return out;
}

int run(int argc, char** argv) {
  cxxopts::Options options(
      kProgram,
      "Predicts with a trained S4Model: new CSV rows, or the test split of its "
      "image set.");
  // clang-format off
  options.add_options()
      ("dataset", "CSV file of rows to predict, or mnist|fashion_mnist|cifar10 (the test split)",
       cxxopts::value<std::string>())
      ("modelname", "the model trained by s4model --modelname", cxxopts::value<std::string>())
      ("independent_variables", "feature columns (default: the model's; must match its order)",
       cxxopts::value<std::vector<std::string>>())
      ("checkpoint_dir", "folder of the checkpoint folders",
       cxxopts::value<std::string>()->default_value("checkpoint/"))
      ("results_dir", "folder of the results folders",
       cxxopts::value<std::string>()->default_value("results/"))
      ("output", "predictions CSV (default <results_dir>/<modelname>/<stem>_predictions.csv)",
       cxxopts::value<std::string>())
      ("data_dir", "folder of the image files (default: the one the model was trained on)",
       cxxopts::value<std::string>())
      ("batch_size", "rows per forward pass (0: the model's training batch size)",
       cxxopts::value<int64_t>()->default_value("0"))
      ("device", "cpu, cuda, cuda:<index> or auto", cxxopts::value<std::string>()->default_value("cpu"))
      ("threads", "CPU threads (0: SSMKIT_NUM_THREADS, OMP_NUM_THREADS or all cores)",
       cxxopts::value<int>()->default_value("0"))
      ("h,help", "print this help");
  // clang-format on
  const cli::ParsedArguments args =
      cli::parse_arguments_with_lists(options, argc, argv, {"independent_variables"});
  if (args.count("help") > 0) {
    std::cout << options.help() << std::endl;
    return 0;
  }
  for (const char* required : {"dataset", "modelname"}) {
    if (args.count(required) == 0) throw InputError(std::string("--") + required + ": missing");
  }
  init_threads(args["threads"].as<int>());
  keep_freed_heap_for_reuse(kS4MmapThreshold);  // S4Model's GLU tensors stay in the heap
  const c10::Device device = train::resolve_device(args["device"].as<std::string>(), "--device");
  const std::string name = args["modelname"].as<std::string>();
  const std::string checkpoint = model_checkpoint(args["checkpoint_dir"].as<std::string>(), name);
  const train::CheckpointState state = train::read_checkpoint_state(checkpoint);
  const std::string model_name =
      state.config.value("model", json::object()).value("name", std::string());
  if (model_name != kModelName) {
    throw InputError("--modelname: " + checkpoint + " holds a '" + model_name + "' model, not " +
                     kModelName + " (infer predicts with s4model's models)");
  }
  const json& data_section = state.config.at("data");
  cli::S4Data data = model_data(data_section, checkpoint);
  int64_t batch_size = args["batch_size"].as<int64_t>();
  if (batch_size < 0) throw InputError("--batch_size: must be >= 0");
  if (batch_size == 0) batch_size = data_section.value("batch_size", int64_t{64});

  // The rows: encoded inputs, targets when known, and the leading CSV columns of the output.
  const std::string dataset = args["dataset"].as<std::string>();
  at::Tensor inputs;  // (N, L, C)
  at::Tensor targets;
  std::string header;
  std::vector<std::string> leading;
  std::string stem;
  if (const auto set = data::parse_image_set(dataset)) {
    if (data.encoding || data_section.value("dataset", "") != data::image_set_name(*set)) {
      throw InputError("--dataset: " + dataset + ", but model '" + name + "' was trained on " +
                       data_section.value("dataset", std::string("?")));
    }
    std::string dir = args.count("data_dir") > 0 ? args["data_dir"].as<std::string>()
                                                 : data_section.value("data_dir", std::string());
    if (dir.empty()) dir = data::default_image_data_dir(*set);
    const data::LabelledSequences test =
        data::image_sequences(data::load_image_set(*set, dir, io::DatasetSplit::test), *set,
                              data_section.value("grayscale", false));
    inputs = test.inputs;
    targets = test.targets;
    header = "index,label";
    for (int64_t i = 0; i < test.size(); ++i) {
      leading.push_back(std::to_string(i) + "," +
                        io::csv_field(data.class_names[test.targets[i].item<int64_t>()]));
    }
    stem = data::image_set_name(*set) + "_test";
  } else {
    if (!data.encoding) {
      throw InputError("--dataset: " + dataset + " is a CSV file, but model '" + name +
                       "' was trained on the image set " +
                       data_section.value("dataset", std::string()));
    }
    std::vector<std::string> features = data.encoding->features;
    if (args.count("independent_variables") > 0) {
      features = args["independent_variables"].as<std::vector<std::string>>();
      if (features != data.encoding->features) {
        std::string expected;
        for (const std::string& f : data.encoding->features)
          expected += (expected.empty() ? "" : " ") + f;
        throw InputError("--independent_variables: model '" + name +
                         "' was trained on: " + expected);
      }
    }
    if (!fs::exists(dataset)) throw InputError("--dataset: " + dataset + " does not exist");
    const io::Table table = io::read_csv(dataset);
    const bool has_target = table.find_column(data.encoding->target).has_value();
    const data::TabularColumns columns = data::read_tabular_columns(
        table, features, has_target ? data.encoding->target : std::string());
    if (has_target) {
      const data::LabelledSequences encoded = data.encoding->encode(columns);
      inputs = encoded.inputs;
      targets = encoded.targets;
    } else {
      inputs = data.encoding->encode_features(columns);
    }
    header = cli::table_header(table);
    leading = cli::table_rows(columns);
    stem = fs::path(dataset).stem().string();
  }

  const std::shared_ptr<models::Model> model =
      models::create_model(kModelName, state.config.at("model").at("config"));
  auto trainable = train::wrap_module(model);
  trainable->to(device);
  train::load_checkpoint(checkpoint, *trainable, nullptr, device, /*restore_rng=*/false);
  // Matrix products as the run computed its test metric.
  train::apply_float32_matmul_precision(
      train::TrainerConfig::from_json(state.config.at("trainer")));
  const at::Tensor outputs = cli::predict_outputs(*trainable, inputs, batch_size, device);

  const fs::path results = fs::path(args["results_dir"].as<std::string>()) / name;
  const std::string output = args.count("output") > 0
                                 ? args["output"].as<std::string>()
                                 : (results / (stem + "_predictions.csv")).string();
  if (fs::path(output).has_parent_path()) fs::create_directories(fs::path(output).parent_path());
  cli::write_predictions_csv(output, header, leading, outputs, data);
  std::printf("%s: %lld predictions of %s (epoch %lld) written to %s\n", kProgram,
              static_cast<long long>(outputs.size(0)), checkpoint.c_str(),
              static_cast<long long>(state.epoch), output.c_str());
  if (targets.defined()) {
    const std::string folder = fs::path(output).has_parent_path()
                                   ? fs::path(output).parent_path().string()
                                   : std::string(".");
    json scores = cli::score_predictions(outputs, targets, data, "infer", folder, stem + "_",
                                         std::string(kModelName) + " on " + stem);
    scores["rows"] = outputs.size(0);
    scores["checkpoint"] = checkpoint;
    write_file_atomic((fs::path(folder) / (stem + "_metrics.json")).string(),
                      scores.dump(2) + "\n");
    const std::string metric = cli::headline_metric(data, "infer");
    std::printf("%s: %s %.17g on %lld rows\n", kProgram, metric.c_str(),
                scores[metric].get<double>(), static_cast<long long>(outputs.size(0)));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_main(kProgram, argc, argv, run, kUsage);
}
