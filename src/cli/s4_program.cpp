// Data, prediction pass, scores and predictions CSV of the S4 programs.
#include "ssmkit/cli/s4_program.h"

#include <torch/torch.h>

#include <filesystem>
#include <sstream>

#include "ssmkit/data/image_sequences.h"
#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/csv.h"
#include "ssmkit/io/error.h"
#include "ssmkit/metrics/confusion_matrix.h"
#include "ssmkit/metrics/metrics.h"
#include "ssmkit/report/classification_report.h"
#include "ssmkit/report/plots.h"

namespace ssmkit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// example.py's validation split: 10% of the training set, seeded with 42.
constexpr double kDefaultValFraction = 0.1;
constexpr uint64_t kDefaultSplitSeed = 42;
// CSV data split into train / val / test when no ratios or files are given.
constexpr data::SplitRatios kDefaultCsvRatios = {0.8, 0.1, 0.1};
// Digits that print a float64 so that it reads back as the same value.
constexpr int kRoundTripDigits = 17;

std::string number_text(double value) {
  std::ostringstream out;
  out.precision(kRoundTripDigits);
  out << value;
  return out.str();
}

// The ratios of --trainvaltestsplit: numbers, or numeric text from "a,b,c".
std::optional<data::SplitRatios> split_ratios(const json& value) {
  if (value.empty()) return std::nullopt;
  if (value.size() != 3) {
    throw InputError("--trainvaltestsplit: expected three ratios (train val test), got " +
                     std::to_string(value.size()));
  }
  data::SplitRatios ratios{};
  for (size_t i = 0; i < 3; ++i) {
    const json& item = value[i];
    if (item.is_number()) {
      ratios[i] = item.get<double>();
    } else {
      const std::string text = item.is_string() ? item.get<std::string>() : item.dump();
      try {
        size_t used = 0;
        ratios[i] = std::stod(text, &used);
        if (used != text.size()) throw std::invalid_argument(text);
      } catch (const std::exception&) {
        throw InputError("--trainvaltestsplit: '" + text + "' is not a number");
      }
    }
  }
  data::check_split_ratios(ratios, "--trainvaltestsplit");
  return ratios;
}

// Row positions [0, n) cut by `ratios` after a seeded shuffle (data::split_indices).
std::array<std::vector<int64_t>, 3> split_rows(int64_t n, const data::SplitRatios& ratios,
                                               uint64_t seed) {
  const auto parts = data::split_indices(n, ratios, seed);
  std::array<std::vector<int64_t>, 3> out;
  for (size_t p = 0; p < 3; ++p) {
    const at::Tensor index = parts[p].contiguous();
    out[p].assign(index.data_ptr<int64_t>(), index.data_ptr<int64_t>() + index.numel());
  }
  return out;
}

S4Data load_images(const json& d, data::ImageSet set) {
  if (!d.at("trainvaltestsplit").empty() || !d.at("trainset").get<std::string>().empty()) {
    throw InputError(
        "--trainvaltestsplit/--trainset: apply to CSV data; image sets use their own "
        "test split and a seeded 0.1 validation split");
  }
  std::string dir = d.at("data_dir").get<std::string>();
  if (dir.empty()) dir = data::default_image_data_dir(set);
  const bool grayscale = d.at("grayscale").get<bool>();
  const io::LabelledImages train = data::load_image_set(set, dir, io::DatasetSplit::train);
  const io::LabelledImages test = data::load_image_set(set, dir, io::DatasetSplit::test);
  S4Data out;
  out.classification = true;
  out.class_names = data::image_class_names(set);
  out.description = data::image_set_name(set);
  const double val = d.at("val_fraction").get<double>();
  data::SequenceSplits parts =
      data::split_sequences(data::image_sequences(train, set, grayscale), {1.0 - val, val, 0.0},
                            d.at("split_seed").get<uint64_t>());
  out.splits.train = parts.train;
  out.splits.val = parts.val;
  out.splits.test = data::image_sequences(test, set, grayscale);
  return out;
}

std::shared_ptr<io::Table> read_table(S4Data& out, const std::string& path, const char* flag) {
  if (!fs::exists(path)) throw InputError(std::string(flag) + ": " + path + " does not exist");
  out.tables.push_back(std::make_shared<io::Table>(io::read_csv(path)));
  return out.tables.back();
}

S4Data load_tabular(const json& d) {
  S4Data out;
  const std::string dataset = d.at("dataset").get<std::string>();
  const std::string trainset = d.at("trainset").get<std::string>();
  const std::string target = d.at("dependent_variable").get<std::string>();
  const auto features = d.at("independent_variables").get<std::vector<std::string>>();
  if (target.empty()) throw InputError("--dependent_variable: missing (the column to predict)");
  if (features.empty()) throw InputError("--independent_variables: missing (the feature columns)");
  if (!dataset.empty() && !trainset.empty()) {
    throw InputError("--dataset and --trainset: give one (a file to split, or separate files)");
  }
  const std::optional<data::SplitRatios> ratios = split_ratios(d.at("trainvaltestsplit"));
  const uint64_t seed = d.at("split_seed").get<uint64_t>();
  const double val = d.at("val_fraction").get<double>();

  std::array<std::optional<data::TabularColumns>, 3> parts;
  if (!dataset.empty()) {
    const auto table = read_table(out, dataset, "--dataset");
    const data::TabularColumns all = data::read_tabular_columns(*table, features, target);
    const auto rows = split_rows(all.size(), ratios.value_or(kDefaultCsvRatios), seed);
    for (size_t p = 0; p < 3; ++p)
      parts[p] = all.select(rows[p]);
    out.description = fs::path(dataset).filename().string();
  } else {
    if (trainset.empty())
      throw InputError("--dataset: missing (mnist, fashion_mnist, cifar10 or a CSV)");
    if (ratios) {
      throw InputError(
          "--trainvaltestsplit: splits --dataset; with --trainset give --valset and "
          "--testset instead");
    }
    const data::TabularColumns train =
        data::read_tabular_columns(*read_table(out, trainset, "--trainset"), features, target);
    const char* flags[] = {"--valset", "--testset"};
    const std::string files[] = {d.at("valset").get<std::string>(),
                                 d.at("testset").get<std::string>()};
    // Parts without a file of their own are carved out of the training file.
    const double carve_val = files[0].empty() ? val : 0.0;
    const double carve_test = files[1].empty() ? val : 0.0;
    const auto rows =
        split_rows(train.size(), {1.0 - carve_val - carve_test, carve_val, carve_test}, seed);
    for (size_t p = 0; p < 3; ++p)
      parts[p] = train.select(rows[p]);
    for (size_t k = 0; k < 2; ++k) {
      if (files[k].empty()) continue;
      parts[k + 1] =
          data::read_tabular_columns(*read_table(out, files[k], flags[k]), features, target);
    }
    out.description = fs::path(trainset).filename().string();
  }
  if (parts[0]->size() == 0) throw InputError("--trainvaltestsplit: the training split is empty");
  data::TabularEncoding encoding =
      data::TabularEncoding::fit(*parts[0], {&*parts[0], &*parts[1], &*parts[2]}, features, target,
                                 d.at("task").get<std::string>());
  out.classification = encoding.task == data::TabularTask::classification;
  out.class_names = encoding.class_names;
  out.splits.train = encoding.encode(*parts[0]);
  out.splits.val = encoding.encode(*parts[1]);
  out.splits.test = encoding.encode(*parts[2]);
  out.test_rows = *parts[2];
  out.encoding = std::move(encoding);
  return out;
}

}  // namespace

json s4_data_defaults() {
  return {{"dataset", ""},
          {"data_dir", ""},
          {"grayscale", false},
          {"tabulardata", false},
          {"dependent_variable", ""},
          {"independent_variables", json::array()},
          {"task", "auto"},
          {"trainvaltestsplit", json::array()},
          {"trainset", ""},
          {"valset", ""},
          {"testset", ""},
          {"val_fraction", kDefaultValFraction},
          {"split_seed", kDefaultSplitSeed},
          {"batch_size", 64},
          {"num_workers", 4}};
}

ParsedArguments parse_arguments_with_lists(cxxopts::Options& options, int argc,
                                           const char* const* argv,
                                           const std::vector<std::string>& list_flags) {
  std::vector<std::string> out;
  for (int i = 0; i < argc; ++i) {
    const std::string word = argv[i];
    const bool is_list =
        i > 0 && word.rfind("--", 0) == 0 &&
        std::find(list_flags.begin(), list_flags.end(), word.substr(2)) != list_flags.end();
    if (!is_list) {
      out.push_back(word);
      continue;
    }
    std::string items;
    while (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      items += (items.empty() ? "" : ",") + std::string(argv[++i]);
    }
    out.push_back(word + "=" + items);
  }
  std::vector<const char*> words;
  for (const std::string& word : out)
    words.push_back(word.c_str());
  return parse_arguments(options, static_cast<int>(words.size()), words.data());
}

S4Data load_s4_data(const json& d) {
  const std::string dataset = d.at("dataset").get<std::string>();
  const std::optional<data::ImageSet> images = data::parse_image_set(dataset);
  const bool tabular = d.at("tabulardata").get<bool>() || !images;
  if (images && d.at("tabulardata").get<bool>()) {
    throw InputError("--tabulardata: --dataset " + dataset + " is an image set, not a CSV file");
  }
  if (d.at("batch_size").get<int64_t>() < 1) throw InputError("--batch_size: must be positive");
  if (d.at("num_workers").get<int64_t>() < 0) throw InputError("--num_workers: must be >= 0");
  const double val = d.at("val_fraction").get<double>();
  if (!(val >= 0.0 && val < 0.5)) throw InputError("--data.val_fraction: must be in [0, 0.5)");
  S4Data out = tabular ? load_tabular(d) : load_images(d, *images);
  if (out.splits.train.size() == 0) throw InputError("--dataset: no training examples");
  return out;
}

at::Tensor predict_outputs(train::TrainableModel& model, const at::Tensor& inputs,
                           int64_t batch_size, const c10::Device& device) {
  torch::NoGradGuard no_grad;
  model.train(false);
  std::vector<at::Tensor> outputs;
  for (int64_t start = 0; start < inputs.size(0); start += batch_size) {
    const int64_t n = std::min(batch_size, inputs.size(0) - start);
    outputs.push_back(model.forward(inputs.narrow(0, start, n).to(device)).to(torch::kCPU));
  }
  return torch::cat(outputs, 0);  // (N, d_output)
}

json score_predictions(const at::Tensor& outputs, const at::Tensor& targets, const S4Data& data,
                       const std::string& phase, const std::string& folder,
                       const std::string& prefix, const std::string& title) {
  json scores = json::object();
  if (!data.classification) {
    const at::Tensor predicted = data.encoding->decode_values(outputs);  // (N)
    const at::Tensor truth = data.encoding->decode_values(targets);      // (N)
    scores[phase + "_r2"] = metrics::r2_score(predicted, truth);
    scores[phase + "_mse"] = metrics::mean_squared_error(predicted, truth);
    scores[phase + "_mae"] = metrics::mean_absolute_error(predicted, truth);
    return scores;
  }
  metrics::ConfusionMatrix matrix(static_cast<int64_t>(data.class_names.size()));
  matrix.update(outputs, targets);
  scores[phase + "_accuracy"] = matrix.accuracy();
  scores[phase + "_macro_f1"] = matrix.macro_average().f1;
  scores["classification_report"] = report::classification_report_json(matrix, data.class_names);
  const at::Tensor counts = matrix.to_tensor().to(torch::kCPU).contiguous();  // (K, K)
  json rows = json::array();
  for (int64_t i = 0; i < counts.size(0); ++i) {
    rows.push_back(std::vector<int64_t>(counts[i].data_ptr<int64_t>(),
                                        counts[i].data_ptr<int64_t>() + counts.size(1)));
  }
  scores["confusion_matrix"] = rows;
  write_file_atomic((fs::path(folder) / (prefix + "classification_report.txt")).string(),
                    report::classification_report(matrix, data.class_names, 4));
  report::plot_confusion_matrix((fs::path(folder) / (prefix + "confusion_matrix.png")).string(),
                                matrix, data.class_names, title);
  return scores;
}

std::string headline_metric(const S4Data& data, const std::string& phase) {
  return phase + (data.classification ? "_accuracy" : "_r2");
}

void write_predictions_csv(const std::string& path, const std::string& leading_header,
                           const std::vector<std::string>& leading_rows, const at::Tensor& outputs,
                           const S4Data& data) {
  std::string text = leading_header + (leading_header.empty() ? "" : ",") + "prediction";
  at::Tensor values;
  if (data.classification) {
    for (const std::string& name : data.class_names)
      text += "," + io::csv_field("probability_" + name);
    values = torch::softmax(outputs.to(torch::kDouble), 1);  // (N, K)
  } else {
    values = data.encoding->decode_values(outputs).unsqueeze(1);  // (N, 1)
  }
  text += "\n";
  const auto v = values.accessor<double, 2>();
  for (int64_t i = 0; i < values.size(0); ++i) {
    std::string line = leading_rows.empty() ? "" : leading_rows[static_cast<size_t>(i)] + ",";
    if (data.classification) {
      const int64_t best = outputs[i].argmax().item<int64_t>();
      line += io::csv_field(data.class_names[static_cast<size_t>(best)]);
      for (int64_t k = 0; k < values.size(1); ++k)
        line += "," + number_text(v[i][k]);
    } else {
      line += number_text(v[i][0]);
    }
    text += line + "\n";
  }
  write_file_atomic(path, text);
}

std::string table_header(const io::Table& table) {
  std::string out;
  for (const std::string& name : table.column_names())
    out += (out.empty() ? "" : ",") + io::csv_field(name);
  return out;
}

std::vector<std::string> table_rows(const data::TabularColumns& columns) {
  std::vector<std::string> out;
  for (const int64_t row : columns.rows) {
    std::string line;
    bool first = true;
    for (const io::TableColumn& column : columns.table->columns()) {
      line +=
          (first ? "" : ",") + io::csv_field(io::cell_text(column.cells[static_cast<size_t>(row)]));
      first = false;
    }
    out.push_back(line);
  }
  return out;
}

}  // namespace ssmkit::cli
