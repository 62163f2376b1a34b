// The s4model and infer programs end to end: every flag reaches the configuration; a tabular
// classification and a regression run write the checkpoint and results trees, and infer on the
// test rows reproduces the test metric exactly; --resume continues a paused run to the weights of
// an uninterrupted one; bad input (split ratios, unknown columns, one class, empty CSV, missing
// and non-numeric cells, another model's checkpoint) gives one error line and no output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/program_run.h"
#include "ssmkit/data/labelled_sequences.h"
#include "ssmkit/io/csv.h"
#include "ssmkit/io/file_bytes.h"
#include "ssmkit/metrics/metrics.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/train/checkpoint.h"
#include "ssmkit/train/trainable_model.h"
#include "test_helpers.h"
#include "test_temp_dir.h"

namespace ssmkit {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using testing::ProgramRun;
using testing::TempDir;

const std::string kS4Model = std::string(SSMKIT_BINARY_DIR) + "/apps/s4model";
const std::string kInfer = std::string(SSMKIT_BINARY_DIR) + "/apps/infer";
const std::string kTinyS4 =
    " --d_model 16 --n_layers 2 --model.config.d_state 8 --batch_size 16 --progress off"
    " --threads 1";

ProgramRun in_dir(const TempDir& dir, const std::string& program, const std::string& args) {
  return testing::run_command(dir, "cd " + dir.path().string() + " && " + program + " " + args);
}

// n rows of three features; the class ("low", "mid", "high") or value depends on f1 + 2 f2.
std::string synthetic_csv(int64_t n, bool regression) {
  std::ostringstream text;
  text << "id,f1,f2,f3,label\n";
  for (int64_t i = 0; i < n; ++i) {
    const double f1 = std::sin(0.37 * static_cast<double>(i));
    const double f2 = std::cos(0.91 * static_cast<double>(i) + 0.3);
    const double f3 = 0.01 * static_cast<double>(i % 7);
    const double score = f1 + 2 * f2;
    text << i << "," << f1 << "," << f2 << "," << f3 << ",";
    if (regression) {
      text << 10 * score + 3 << "\n";
    } else {
      text << (score < -1 ? "low" : (score < 1 ? "mid" : "high")) << "\n";
    }
  }
  return text.str();
}

json read_json(const fs::path& path) {
  return json::parse(io::read_file_bytes(path.string()));
}

std::map<std::string, at::Tensor> checkpoint_weights(const std::string& path) {
  const train::CheckpointState state = train::read_checkpoint_state(path);
  auto model = models::create_model("S4Model", state.config.at("model").at("config"));
  auto trainable = train::wrap_module(model);
  train::load_checkpoint(path, *trainable, nullptr, torch::kCPU, false);
  std::map<std::string, at::Tensor> out;
  for (const auto& item : model->named_parameters())
    out[item.key()] = item.value().detach().clone();
  return out;
}

// One line on stderr, exit status 1, and neither output folder.
void expect_one_error(const TempDir& dir, const ProgramRun& run, const std::string& text) {
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr(text));
  EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1) << run.output;
  EXPECT_FALSE(fs::exists(dir.path() / "checkpoint")) << run.output;
  EXPECT_FALSE(fs::exists(dir.path() / "results")) << run.output;
}

TEST(S4ModelProgram, EveryFlagReachesTheConfiguration) {
  const TempDir dir;
  const ProgramRun run = in_dir(
      dir, kS4Model,
      "--modelname m --dataset data.csv --tabulardata --dependent_variable y"
      " --independent_variables a b c --trainvaltestsplit 0.7 0.2 0.1 --num_workers 2"
      " --batch_size 8 --n_layers 3 --d_model 32 --dropout 0.2 --prenorm --epochs 7 --patience 2"
      " --grayscale --lr 0.005 --weight_decay 0.02 --device cpu --seed 9 --checkpoint_dir ck"
      " --results_dir rs --data_dir dd --task regression --print_config");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const json c = json::parse(run.output);
  EXPECT_EQ(c["run"]["project_name"], "m");
  EXPECT_EQ(c["data"]["dataset"], "data.csv");
  EXPECT_EQ(c["data"]["tabulardata"], true);
  EXPECT_EQ(c["data"]["dependent_variable"], "y");
  EXPECT_EQ(c["data"]["independent_variables"], json({"a", "b", "c"}));
  ASSERT_EQ(c["data"]["trainvaltestsplit"].size(), 3u);
  EXPECT_EQ(c["data"]["num_workers"], 2);
  EXPECT_EQ(c["data"]["batch_size"], 8);
  EXPECT_EQ(c["model"]["config"]["n_layers"], 3);
  EXPECT_EQ(c["model"]["config"]["d_model"], 32);
  EXPECT_DOUBLE_EQ(c["model"]["config"]["dropout"].get<double>(), 0.2);
  EXPECT_EQ(c["model"]["config"]["prenorm"], true);
  EXPECT_EQ(c["trainer"]["epochs"], 7);
  EXPECT_EQ(c["trainer"]["early_stopping"]["patience"], 2);
  EXPECT_EQ(c["data"]["grayscale"], true);
  EXPECT_DOUBLE_EQ(c["optimizer"]["lr"].get<double>(), 0.005);
  EXPECT_DOUBLE_EQ(c["optimizer"]["weight_decay"].get<double>(), 0.02);
  EXPECT_EQ(c["trainer"]["device"], "cpu");
  EXPECT_EQ(c["run"]["seed"], 9);
  EXPECT_EQ(c["run"]["output_dir"], "ck");
  EXPECT_EQ(c["results_dir"], "rs");
  EXPECT_EQ(c["data"]["data_dir"], "dd");
  EXPECT_EQ(c["data"]["task"], "regression");
  // Defaults: the S4 example's recipe.
  const ProgramRun defaults = in_dir(dir, kS4Model, "--modelname m --print_config");
  const json d = json::parse(defaults.output);
  EXPECT_EQ(d["optimizer"]["name"], "adamw");
  EXPECT_DOUBLE_EQ(d["optimizer"]["lr"].get<double>(), 0.01);
  EXPECT_DOUBLE_EQ(d["optimizer"]["weight_decay"].get<double>(), 0.01);
  EXPECT_DOUBLE_EQ(d["optimizer"]["ssm_lr"].get<double>(), 0.001);
  EXPECT_EQ(d["scheduler"]["name"], "cosine");
  EXPECT_EQ(d["trainer"]["epochs"], 100);
  EXPECT_EQ(d["data"]["batch_size"], 64);
  EXPECT_EQ(d["data"]["num_workers"], 4);
  EXPECT_EQ(d["data"]["split_seed"], 42);
  EXPECT_EQ(d["model"]["config"]["d_model"], 128);
  EXPECT_EQ(d["model"]["config"]["n_layers"], 4);
  EXPECT_EQ(d["model"]["config"]["prenorm"], false);
  EXPECT_EQ(d["run"]["output_dir"], "checkpoint/");
  EXPECT_EQ(d["results_dir"], "results/");
}

TEST(S4ModelProgram, TabularClassificationAndInferReproducesTheTestAccuracy) {
  const TempDir dir;
  dir.write("rows.csv", synthetic_csv(240, false));
  const ProgramRun run = in_dir(dir, kS4Model,
                                "--dataset rows.csv --modelname cls --tabulardata"
                                " --dependent_variable label --independent_variables f1 f2 f3"
                                " --epochs 4" +
                                    kTinyS4);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  for (const char* file :
       {"checkpoint/cls/checkpoints/best.pt", "checkpoint/cls/checkpoints/last.pt",
        "results/cls/metrics.json", "results/cls/epochs.csv", "results/cls/training_curves.png",
        "results/cls/confusion_matrix.png", "results/cls/classification_report.txt",
        "results/cls/test_split.csv"}) {
    EXPECT_TRUE(fs::exists(dir.path() / file)) << file;
  }
  const json metrics = read_json(dir.path() / "results/cls/metrics.json");
  EXPECT_EQ(metrics["task"], "classification");
  EXPECT_EQ(metrics["test_sequences"], 24);
  EXPECT_GE(metrics["test_accuracy"].get<double>(), 0.0);

  const ProgramRun infer = in_dir(
      dir, kInfer,
      "--dataset results/cls/test_split.csv --modelname cls --independent_variables f1 f2 f3");
  ASSERT_EQ(infer.exit_code, 0) << infer.output;
  const json scores = read_json(dir.path() / "results/cls/test_split_metrics.json");
  EXPECT_EQ(scores["infer_accuracy"].get<double>(), metrics["test_accuracy"].get<double>());
  // The predictions: the input columns, the class and one probability per class.
  std::ifstream in(dir.path() / "results/cls/test_split_predictions.csv");
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header,
            "id,f1,f2,f3,label,prediction,probability_high,probability_low,probability_mid");
  int64_t lines = 0;
  for (std::string line; std::getline(in, line);)
    ++lines;
  EXPECT_EQ(lines, 24);
  // New rows without the target, to a file of the user's choice.
  std::string rows = synthetic_csv(5, false);
  dir.write("new.csv", rows);
  const ProgramRun fresh =
      in_dir(dir, kInfer, "--dataset new.csv --modelname cls --output out/p.csv");
  ASSERT_EQ(fresh.exit_code, 0) << fresh.output;
  EXPECT_TRUE(fs::exists(dir.path() / "out/p.csv"));
}

// Under ssmkit_run with two workers, half the batch each (no dropout: nothing random differs
// between the ranks): the epochs of one process with the whole batch, the same final weights, and
// one checkpoint and one results folder, rank 0's.
TEST(S4ModelProgram, TwoWorkersFollowOneProcessWithTwiceTheBatchAndWriteOnce) {
  const std::string launcher = std::string(SSMKIT_BINARY_DIR) + "/apps/ssmkit_run";
  if (!fs::exists(launcher)) GTEST_SKIP() << "ssmkit_run is not built";
  const TempDir dir;
  dir.write("rows.csv", synthetic_csv(240, false));
  fs::create_directories(dir.path() / "tmp");
  const std::string args =
      " --dataset rows.csv --tabulardata --dependent_variable label --independent_variables f1 f2"
      " f3 --epochs 3 --dropout 0 --d_model 16 --n_layers 2 --model.config.d_state 8"
      " --progress off --threads 1";
  const ProgramRun one = in_dir(dir, kS4Model, "--modelname one --batch_size 16" + args);
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const ProgramRun two = in_dir(dir,
                                "TMPDIR=" + (dir.path() / "tmp").string() + " " + launcher +
                                    " --standalone --nproc_per_node 2 s4model",
                                "--modelname two --batch_size 8" + args);
  ASSERT_EQ(two.exit_code, 0) << two.output;
  const auto a = checkpoint_weights((dir.path() / "checkpoint/one/checkpoints/last.pt").string());
  const auto b = checkpoint_weights((dir.path() / "checkpoint/two/checkpoints/last.pt").string());
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, weight] : a)
    EXPECT_LT((b.at(name) - weight).abs().max().item<double>(), 1e-5) << name;
  const json m1 = read_json(dir.path() / "results/one/metrics.json");
  const json m2 = read_json(dir.path() / "results/two/metrics.json");
  EXPECT_EQ(m2["epochs_completed"], 3);
  EXPECT_EQ(m2["test_accuracy"], m1["test_accuracy"]);
  for (const char* tree : {"checkpoint", "results"}) {
    std::vector<std::string> runs;
    for (const auto& entry : fs::directory_iterator(dir.path() / tree))
      runs.push_back(entry.path().filename().string());
    std::sort(runs.begin(), runs.end());
    EXPECT_EQ(runs, (std::vector<std::string>{"one", "two"})) << tree;
  }
  EXPECT_TRUE(fs::is_empty(dir.path() / "tmp"));
}

TEST(S4ModelProgram, TabularRegressionAndInferReproducesTheTestR2) {
  const TempDir dir;
  dir.write("rows.csv", synthetic_csv(200, true));
  const ProgramRun run = in_dir(dir, kS4Model,
                                "--dataset rows.csv --modelname reg --dependent_variable label"
                                " --independent_variables f1,f2,f3 --epochs 3" +
                                    kTinyS4);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const json metrics = read_json(dir.path() / "results/reg/metrics.json");
  EXPECT_EQ(metrics["task"], "regression");
  EXPECT_FALSE(fs::exists(dir.path() / "results/reg/confusion_matrix.png"));
  const ProgramRun infer =
      in_dir(dir, kInfer, "--dataset results/reg/test_split.csv --modelname reg");
  ASSERT_EQ(infer.exit_code, 0) << infer.output;
  const json scores = read_json(dir.path() / "results/reg/test_split_metrics.json");
  EXPECT_EQ(scores["infer_r2"].get<double>(), metrics["test_r2"].get<double>());
  EXPECT_EQ(scores["infer_mse"].get<double>(), metrics["test_mse"].get<double>());
}

TEST(S4ModelProgram, ResumeContinuesToTheWeightsOfAnUninterruptedRun) {
  const TempDir straight, paused;
  const std::string args =
      "--dataset rows.csv --modelname r --dependent_variable label"
      " --independent_variables f1 f2 f3 --epochs 3" +
      kTinyS4;
  for (const TempDir* dir : {&straight, &paused})
    dir->write("rows.csv", synthetic_csv(120, false));
  ASSERT_EQ(in_dir(straight, kS4Model, args).exit_code, 0);
  const ProgramRun first = in_dir(paused, kS4Model, args + " --run.pause_after_epoch 1");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const ProgramRun again = in_dir(paused, kS4Model, args);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.output, HasSubstr("--resume"));
  const ProgramRun resumed = in_dir(paused, kS4Model, args + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const auto a =
      checkpoint_weights((straight.path() / "checkpoint/r/checkpoints/last.pt").string());
  const auto b = checkpoint_weights((paused.path() / "checkpoint/r/checkpoints/last.pt").string());
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a)
    EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
  EXPECT_EQ(read_json(straight.path() / "results/r/metrics.json")["test_accuracy"],
            read_json(paused.path() / "results/r/metrics.json")["test_accuracy"]);
}

TEST(S4ModelProgram, BadInputGivesOneErrorLineAndNoOutput) {
  const std::string base = " --modelname m --epochs 1" + kTinyS4;
  const std::string columns = " --dependent_variable label --independent_variables f1 f2";
  const struct {
    std::string csv;
    std::string args;
    std::string message;
  } cases[] = {
      {synthetic_csv(30, false), "--dataset d.csv --trainvaltestsplit 0.5 0.2 0.2",
       "--trainvaltestsplit: 0.5 0.2 0.2 sum to 0.9, expected 1"},
      {synthetic_csv(30, false), "--dataset d.csv --trainvaltestsplit 0.5 0.5",
       "--trainvaltestsplit: expected three ratios"},
      {synthetic_csv(30, false),
       "--dataset d.csv --dependent_variable label --independent_variables f1 nope",
       "--independent_variables: d.csv has no column 'nope'"},
      {synthetic_csv(30, false),
       "--dataset d.csv --dependent_variable nope --independent_variables f1",
       "--dependent_variable: d.csv has no column 'nope'"},
      {"f1,f2,label\n1,2,a\n3,4,a\n5,6,a\n", "--dataset d.csv", "has one class ('a')"},
      {"", "--dataset d.csv", "d.csv"},
      {"f1,f2,label\n", "--dataset d.csv", "d.csv: no data rows below the header"},
      {"f1,f2,label\n1,2,a\n3,,b\n", "--dataset d.csv", "d.csv line 3, column 'f2': missing value"},
      {"f1,f2,label\n1,2,a\n3,x,b\n", "--dataset d.csv",
       "d.csv line 3, column 'f2': 'x' is not a number"},
      {synthetic_csv(30, false), "--dataset d.csv --task classify",
       "--task: 'classify' is unknown"},
      {synthetic_csv(30, false), "--dataset missing.csv", "--dataset: missing.csv does not exist"},
      {synthetic_csv(30, false), "--dataset mnist --data_dir .",
       "the full MNIST training images are not shipped"},
  };
  for (const auto& c : cases) {
    const TempDir dir;
    dir.write("d.csv", c.csv);
    const bool own_columns = c.args.find("_variable") != std::string::npos;
    expect_one_error(dir, in_dir(dir, kS4Model, c.args + base + (own_columns ? "" : columns)),
                     c.message);
  }
}

TEST(S4ModelProgram, InferRejectsAnotherModelsCheckpointAndUnknownColumns) {
  const TempDir dir;
  // A checkpoint of another model in the place of <checkpoint_dir>/<modelname>.
  fs::create_directories(dir.path() / "checkpoint/other/checkpoints");
  const json cmamba = {{"seq_len", 16},  {"pred_len", 4}, {"enc_in", 2},
                       {"patch_len", 8}, {"stride", 4},   {"d_model", 8},
                       {"n_layers", 1},  {"d_state", 4},  {"dt_rank", 0}};
  auto model = models::create_model("CMamba", cmamba);
  auto trainable = train::wrap_module(model);
  train::CheckpointState state;
  state.config = {{"model", {{"name", "CMamba"}, {"config", cmamba}}}};
  train::save_checkpoint((dir.path() / "checkpoint/other/checkpoints/best.pt").string(), *trainable,
                         nullptr, state);
  dir.write("new.csv", synthetic_csv(5, false));
  const ProgramRun other = in_dir(dir, kInfer, "--dataset new.csv --modelname other");
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_THAT(other.output, HasSubstr("holds a 'CMamba' model, not S4Model"));
  EXPECT_EQ(std::count(other.output.begin(), other.output.end(), '\n'), 1) << other.output;
  EXPECT_FALSE(fs::exists(dir.path() / "results"));

  const ProgramRun none = in_dir(dir, kInfer, "--dataset new.csv --modelname absent");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.output, HasSubstr("holds no checkpoint"));

  // A trained model and rows without one of its columns.
  dir.write("rows.csv", synthetic_csv(60, false));
  ASSERT_EQ(in_dir(dir, kS4Model,
                   "--dataset rows.csv --modelname m --dependent_variable label"
                   " --independent_variables f1 f2 f3 --epochs 1" +
                       kTinyS4)
                .exit_code,
            0);
  dir.write("short.csv", "f1,f2\n1,2\n");
  const ProgramRun missing = in_dir(dir, kInfer, "--dataset short.csv --modelname m");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.output, HasSubstr("--independent_variables: short.csv has no column 'f3'"));
  EXPECT_FALSE(fs::exists(dir.path() / "results/m/short_predictions.csv"));
  const ProgramRun order = in_dir(dir, kInfer,
                                  "--dataset rows.csv --modelname m "
                                  "--independent_variables f2 f1 f3");
  EXPECT_EQ(order.exit_code, 1);
  EXPECT_THAT(order.output, HasSubstr("was trained on: f1 f2 f3"));
}

// The three tabular sets of ../shared/data/tabular with s4model's default split (0.8 / 0.1 / 0.1,
// seed 42) and a model cut to run in seconds: the classifiers reach the bars on the held-out test
// rows, and diabetes' R2 is set next to least squares fitted on the same training rows.
std::string tabular_features(const std::string& path, const std::string& target) {
  std::string out;
  for (const std::string& name : io::read_csv(path).column_names()) {
    if (name != target) out += " " + name;
  }
  return out;
}

TEST(S4ModelRealData, TabularSetsOnTheirHeldOutTestRows) {
  const std::string dir_path = testing::shared_data_path("tabular");
  if (dir_path.empty()) GTEST_SKIP() << "../shared/data/tabular not found; skipped";
  // The default model (d_model 128, 4 layers) for 30 epochs, the docs/results.md runs.
  const std::string recipe = " --epochs 30 --progress off --threads 1";
  const struct {
    const char* name;
    const char* target;
    const char* metric;
    double bar;
  } sets[] = {{"breast_cancer", "diagnosis", "test_accuracy", 0.95},
              {"wine", "cultivar", "test_accuracy", 0.95},
              {"diabetes", "progression", "test_r2", 0.0}};
  const TempDir dir;
  std::map<std::string, double> scores;
  for (const auto& set : sets) {
    const std::string csv = dir_path + "/" + set.name + ".csv";
    const ProgramRun run = in_dir(
        dir, kS4Model,
        "--dataset " + csv + " --modelname " + set.name + " --dependent_variable " + set.target +
            " --independent_variables" + tabular_features(csv, set.target) + recipe);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const json metrics = read_json(dir.path() / "results" / set.name / "metrics.json");
    scores[set.name] = metrics[set.metric].get<double>();
    std::printf("%s: %s %.4f\n", set.name, set.metric, scores[set.name]);
    EXPECT_GE(scores[set.name], set.bar) << set.name;
  }
  // Least squares with an intercept on diabetes' training rows, scored on its test rows.
  const std::string csv = dir_path + "/diabetes.csv";
  const io::Table table = io::read_csv(csv);
  std::vector<at::Tensor> columns;
  for (const std::string& name : table.column_names()) {
    if (name != "progression")
      columns.push_back(torch::tensor(table.numeric_column(name), torch::kDouble));
  }
  const at::Tensor x = torch::stack(columns, 1);  // (N, F)
  const at::Tensor y = torch::tensor(table.numeric_column("progression"), torch::kDouble);
  const auto parts = data::split_indices(table.num_rows(), {0.8, 0.1, 0.1}, 42);
  const auto design = [&](const at::Tensor& rows) {
    return torch::cat({x.index_select(0, rows), torch::ones({rows.size(0), 1}, torch::kDouble)}, 1);
  };
  const at::Tensor w =
      std::get<0>(torch::linalg_lstsq(design(parts[0]), y.index_select(0, parts[0]).unsqueeze(1)));
  const double baseline =
      metrics::r2_score(design(parts[2]).matmul(w).squeeze(1), y.index_select(0, parts[2]));
  std::printf("diabetes: linear regression test_r2 %.4f, S4Model %.4f\n", baseline,
              scores["diabetes"]);
  RecordProperty("diabetes_linear_r2", std::to_string(baseline));
  RecordProperty("diabetes_s4model_r2", std::to_string(scores["diabetes"]));
  EXPECT_GT(baseline, 0.3);
  // S4Model is no linear model; it should still explain a good part of what least squares does.
  EXPECT_GT(scores["diabetes"], baseline - 0.2);
}

}  // namespace
}  // namespace ssmkit
