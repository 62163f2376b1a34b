// evaluate_model: scores a Vision Mamba checkpoint of train_vision_mamba on the test (or val)
// images of its data set, rebuilding the model and the data pipeline from the checkpoint alone,
// and writes the accuracy, per-class report, confusion matrices, most-confused pairs and every
// prediction to --output_dir. Outputs: docs/vision_mamba.md.
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <cxxopts.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "ssmkit/cli/config_flags.h"
#include "ssmkit/cli/run_main.h"
#include "ssmkit/cli/vision_mamba_program.h"
#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/error.h"
#include "ssmkit/metrics/confusion_matrix.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/report/classification_report.h"
#include "ssmkit/report/image_grid.h"
#include "ssmkit/report/plots.h"
#include "ssmkit/train/checkpoint.h"
#include "ssmkit/train/device.h"
#include "ssmkit/train/mixed_precision.h"
#include "ssmkit/train/trainable_model.h"
#include "ssmkit/util/threads.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace ssmkit;

constexpr const char* kProgram = "evaluate_model";
const char* const kUsage =
    "usage: evaluate_model --checkpoint FILE.pth --output_dir DIR [--data.data_dir DIR] "
    "[--split test|val]";
// Pairs of (true, predicted) classes listed as the most confused.
constexpr int64_t kConfusedPairs = 10;
// The sample-predictions grid: 5 x 5 images, at most half of them wrong predictions.
constexpr int64_t kSampleColumns = 5;
constexpr int64_t kSamples = 25;

struct Predictions {
  metrics::ConfusionMatrix matrix{1};
  at::Tensor labels;      // (N) int64
  at::Tensor predicted;   // (N) int64
  at::Tensor confidence;  // (N) float64, softmax probability of the predicted class
};

// The forward runs as the trainer's test pass ran it: under bf16 autocast when the run trained in
// mixed precision on CUDA, and in the run's batches, so that the predictions are the trainer's.
Predictions predict(models::Model& model, data::BatchSource& batches, int64_t classes,
                    const c10::Device& device, bool mixed_precision) {
  Predictions out{metrics::ConfusionMatrix(classes), {}, {}, {}};
  torch::NoGradGuard no_grad;
  model.eval();
  batches.reset(1);
  data::Batch batch;
  std::vector<at::Tensor> labels, predicted, confidence;
  while (batches.next(batch)) {
    at::Tensor logits;
    {
      const train::AutocastGuard autocast(mixed_precision, device);
      logits = model.forward(batch.inputs.to(device));
    }
    logits = logits.to(torch::kFloat32).cpu();
    out.matrix.update(logits, batch.targets);
    const auto [probability, index] = torch::softmax(logits, 1).max(1);
    labels.push_back(batch.targets);
    predicted.push_back(index);
    confidence.push_back(probability.to(torch::kFloat64));
  }
  out.labels = torch::cat(labels);
  out.predicted = torch::cat(predicted);
  out.confidence = torch::cat(confidence);
  return out;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text)
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string report_csv(const metrics::ConfusionMatrix& m, const std::vector<std::string>& names) {
  std::string csv = "class,precision,recall,f1-score,support\n";
  char line[256];
  const auto row = [&](const std::string& name, const metrics::ClassMetrics& c) {
    std::snprintf(line, sizeof(line), ",%.6f,%.6f,%.6f,%lld\n", c.precision, c.recall, c.f1,
                  static_cast<long long>(c.support));
    csv += csv_field(name) + line;
  };
  for (int64_t k = 0; k < m.num_classes(); ++k)
    row(names[static_cast<size_t>(k)], m.class_metrics(k));
  row("macro avg", m.macro_average());
  row("weighted avg", m.weighted_average());
  return csv;
}

json most_confused(const metrics::ConfusionMatrix& m, const std::vector<std::string>& names) {
  std::vector<std::array<int64_t, 3>> pairs;  // (count, true, predicted)
  for (int64_t i = 0; i < m.num_classes(); ++i) {
    for (int64_t j = 0; j < m.num_classes(); ++j) {
      if (i != j && m.count(i, j) > 0) pairs.push_back({m.count(i, j), i, j});
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return a[0] > b[0]; });
  json out = json::array();
  for (size_t p = 0; p < pairs.size() && static_cast<int64_t>(p) < kConfusedPairs; ++p) {
    const auto [count, truth, guess] = pairs[p];
    const int64_t support = m.class_metrics(truth).support;
    out.push_back(
        {{"true", names[static_cast<size_t>(truth)]},
         {"predicted", names[static_cast<size_t>(guess)]},
         {"count", count},
         {"fraction_of_true_class",
          support > 0 ? static_cast<double>(count) / static_cast<double>(support) : 0.0}});
  }
  return out;
}

std::string predictions_csv(const Predictions& p, const std::vector<std::string>& names) {
  std::string csv =
      "index,true_label,predicted_label,true_class,predicted_class,confidence,correct\n";
  const auto labels = p.labels.accessor<int64_t, 1>();
  const auto predicted = p.predicted.accessor<int64_t, 1>();
  const auto confidence = p.confidence.accessor<double, 1>();
  char number[32];
  for (int64_t i = 0; i < p.labels.size(0); ++i) {
    std::snprintf(number, sizeof(number), "%.6f", confidence[i]);
    csv += std::to_string(i) + "," + std::to_string(labels[i]) + "," +
           std::to_string(predicted[i]) + "," + csv_field(names[static_cast<size_t>(labels[i])]) +
           "," + csv_field(names[static_cast<size_t>(predicted[i])]) + "," + number + "," +
           (labels[i] == predicted[i] ? "1" : "0") + "\n";
  }
  return csv;
}

// The first wrong predictions (up to half the grid), then the first right ones, in split order.
void plot_samples(const std::string& path, const data::ImageSplit& split, const Predictions& p,
                  const std::vector<std::string>& names, const std::string& title) {
  const auto labels = p.labels.accessor<int64_t, 1>();
  const auto predicted = p.predicted.accessor<int64_t, 1>();
  std::vector<int64_t> wrong, right;
  for (int64_t i = 0; i < p.labels.size(0); ++i)
    (labels[i] == predicted[i] ? right : wrong).push_back(i);
  const size_t shown = static_cast<size_t>(std::min<int64_t>(kSamples, p.labels.size(0)));
  const size_t right_shown = std::min(right.size(), shown - std::min(wrong.size(), shown / 2));
  const size_t wrong_shown = std::min(wrong.size(), shown - right_shown);
  std::vector<int64_t> chosen(wrong.begin(),
                              wrong.begin() + static_cast<std::ptrdiff_t>(wrong_shown));
  chosen.insert(chosen.end(), right.begin(),
                right.begin() + static_cast<std::ptrdiff_t>(right_shown));
  std::sort(chosen.begin(), chosen.end());
  std::vector<std::string> titles;
  std::vector<bool> marked;
  for (const int64_t i : chosen) {
    titles.push_back("true: " + names[static_cast<size_t>(labels[i])] +
                     "\npred: " + names[static_cast<size_t>(predicted[i])]);
    marked.push_back(labels[i] != predicted[i]);
  }
  report::plot_image_grid(path, split.images.index_select(0, torch::tensor(chosen)), titles, marked,
                          kSampleColumns, title);
}

int run(int argc, char** argv) {
  cxxopts::Options options(kProgram,
                           "Evaluates a train_vision_mamba checkpoint: accuracy, per-class report, "
                           "confusion matrices and predictions.");
  // clang-format off
  options.add_options()
      ("checkpoint", "checkpoint of train_vision_mamba (.pth or .pt)", cxxopts::value<std::string>())
      ("output_dir", "folder for the outputs (created when missing)", cxxopts::value<std::string>())
      ("split", "test or val", cxxopts::value<std::string>()->default_value("test"))
      ("data.data_dir", "folder of the data set (default: the run's)", cxxopts::value<std::string>())
      ("batch_size", "images per forward pass (0: the run's batch size)",
       cxxopts::value<int64_t>()->default_value("0"))
      ("device", "cpu, cuda, cuda:<index> or auto", cxxopts::value<std::string>()->default_value("auto"))
      ("threads", "CPU threads (0: SSMKIT_NUM_THREADS, OMP_NUM_THREADS or all cores)",
       cxxopts::value<int>()->default_value("0"))
      ("h,help", "print this help");
  // clang-format on
  const cli::ParsedArguments args = cli::parse_arguments(options, argc, argv);
  if (args.count("help") > 0) {
    std::cout << options.help() << std::endl;
    return 0;
  }
  for (const char* required : {"checkpoint", "output_dir"}) {
    if (args.count(required) == 0) throw InputError(std::string("--") + required + ": missing");
  }
  const std::string split = args["split"].as<std::string>();
  if (split != "test" && split != "val") {
    throw InputError("--split: '" + split + "' is unknown, expected test or val");
  }
  init_threads(args["threads"].as<int>());
  const c10::Device device = train::resolve_device(args["device"].as<std::string>(), "--device");

  // The checkpoint first: a file of another program or model is reported before any data is read.
  const std::string checkpoint = args["checkpoint"].as<std::string>();
  if (!fs::is_regular_file(checkpoint))
    throw InputError("--checkpoint: " + checkpoint + ": no such file");
  const train::CheckpointState state = train::read_checkpoint_state(checkpoint);
  if (!state.config.contains("vision_mamba")) {
    std::string model = "an unknown";
    if (state.config.contains("model") && state.config["model"].is_object()) {
      model = "a '" + state.config["model"].value("name", std::string("?")) + "'";
    }
    throw InputError("--checkpoint: " + checkpoint + " holds " + model +
                     " model, not a VisionMamba of train_vision_mamba");
  }
  json config = state.config.at("vision_mamba");
  if (args.count("data.data_dir") > 0)
    config["data"]["data_dir"] = args["data.data_dir"].as<std::string>();
  if (args["batch_size"].as<int64_t>() < 0) throw InputError("--batch_size: must be >= 0");
  if (args["batch_size"].as<int64_t>() > 0)
    config["training"]["batch_size"] = args["batch_size"].as<int64_t>();

  const data::ImageClassificationData data = cli::load_vision_mamba_data(config);
  const auto model = models::create_model(cli::kVisionMambaModel, config.at("model"));
  auto trainable = train::wrap_module(model);
  trainable->to(device);
  train::load_checkpoint(checkpoint, *trainable, nullptr, device, /*restore_rng=*/false);
  const auto batches = cli::vision_mamba_batches(config, data.split(split), false);
  spdlog::info("{}: {} (epoch {}) on {} {} images of {}", kProgram, checkpoint, state.epoch,
               data.split(split).size(), split, data.dataset);
  const bool mixed_precision = config.at("training").value("mixed_precision", false);
  const Predictions p = predict(*model, *batches, data.num_classes(), device, mixed_precision);
  const metrics::ConfusionMatrix& m = p.matrix;
  const std::vector<std::string>& names = data.class_names;

  // Everything is computed before the first file is written.
  const std::string report_text = report::classification_report(m, names, 4);
  json per_class = json::object();
  for (int64_t k = 0; k < m.num_classes(); ++k)
    per_class[names[static_cast<size_t>(k)]] = m.class_metrics(k).recall;
  const json confused = most_confused(m, names);
  const json summary = {{"checkpoint", checkpoint},
                        {"checkpoint_epoch", state.epoch},
                        {"dataset", data.dataset},
                        {"split", split},
                        {"images", m.total()},
                        {"accuracy", m.accuracy()},
                        {"per_class_accuracy", per_class},
                        {"most_confused", confused},
                        {"class_names", names}};
  const fs::path out(args["output_dir"].as<std::string>());
  std::error_code error;
  fs::create_directories(out, error);
  if (error) throw InputError("--output_dir: " + out.string() + ": " + error.message());
  write_file_atomic((out / "evaluation_results.json").string(), summary.dump(2) + "\n");
  write_file_atomic((out / "classification_report.txt").string(), report_text);
  write_file_atomic((out / "classification_report.json").string(),
                    report::classification_report_json(m, names).dump(2) + "\n");
  write_file_atomic((out / "classification_report.csv").string(), report_csv(m, names));
  write_file_atomic((out / "predictions.csv").string(), predictions_csv(p, names));
  const std::string title = "Vision Mamba on " + data.dataset + " (" + split + ")";
  const report::PlotSize square{1000, 1000};
  report::plot_confusion_matrix((out / "confusion_matrix.png").string(), m, names, title, square,
                                report::ConfusionPanels::kCounts);
  report::plot_confusion_matrix((out / "confusion_matrix_normalized.png").string(), m, names, title,
                                square, report::ConfusionPanels::kFractions);
  plot_samples((out / "sample_predictions.png").string(), data.split(split), p, names,
               title + ": sample predictions (wrong ones in red)");

  std::printf("%s: %s accuracy %.4f (%lld of %lld images)\n%s\n", kProgram, split.c_str(),
              m.accuracy(), static_cast<long long>(m.correct()), static_cast<long long>(m.total()),
              report_text.c_str());
  std::printf("most confused (true -> predicted):\n");
  for (const auto& pair : confused) {
    std::printf("  %s -> %s: %lld\n", pair["true"].get<std::string>().c_str(),
                pair["predicted"].get<std::string>().c_str(),
                static_cast<long long>(pair["count"].get<int64_t>()));
  }
  std::printf("%s: wrote %s\n", kProgram, out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_main(kProgram, argc, argv, run, kUsage);
}
