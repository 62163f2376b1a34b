// The train_c_mamba program end to end on tiny configurations: a run trains (the loss falls) and
// writes its logs, TensorBoard events, curves, checkpoints and test report; a run stopped after
// epoch 2 and resumed to epoch 3 ends with the same weights and metrics as an uninterrupted run;
// forecast mode rebuilds the model from a checkpoint alone; every bad input fails with one line.
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>

#include "apps/program_run.h"
#include "io/io_test_helpers.h"
#include "report/png_reader.h"
#include "ssmkit/data/array_tensor.h"
#include "ssmkit/io/file_bytes.h"
#include "ssmkit/io/npz.h"
#include "ssmkit/io/tfrecord.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/train/checkpoint.h"
#include "ssmkit/train/trainable_model.h"
#include "test_helpers.h"

#ifdef SSMKIT_TEST_PROTOBUF
#include "event.pb.h"
#endif

namespace ssmkit {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::TempDir;

const std::string kProgram = std::string(SSMKIT_BINARY_DIR) + "/apps/train_c_mamba";
const std::string kPrepare = std::string(SSMKIT_BINARY_DIR) + "/apps/prepare_data";
const std::string kSampleSeries = std::string(SSMKIT_SOURCE_DIR) + "/data/sample_series.json";

// Windows of the sample series (3 channels) and a model small enough to train in a second.
constexpr int64_t kSeqLen = 32;
constexpr int64_t kHorizon = 8;
const std::string kTinyModel =
    " --seq_len 32 --forecast_len 8 --input_dim 3 --hidden_dim 16 --num_layers 1 --patch_len 8"
    " --stride 4 --d_state 4 --batch_size 64 --learning_rate 0.005 --progress off --threads 1";

using RunResult = testing::ProgramRun;
using testing::run_command;

RunResult run_program(const TempDir& dir, const std::string& args) {
  return run_command(dir, kProgram + " " + args);
}

std::string prepare(const TempDir& dir, const std::string& input, const std::string& args) {
  const std::string out = dir.file("windows.npz");
  const RunResult run =
      run_command(dir, kPrepare + " --input_file " + input + " --output_file " + out + " " + args);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  return out;
}

json read_json(const std::string& path) {
  return json::parse(io::read_file_bytes(path));
}

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    records.push_back(json::parse(line));
  return records;
}

// The losses of every batch record of a metrics.jsonl.
std::vector<double> batch_losses(const std::string& run_dir) {
  std::vector<double> losses;
  for (const json& record : read_jsonl(run_dir + "/metrics.jsonl")) {
    if (record.at("type") == "batch") losses.push_back(record.at("loss").get<double>());
  }
  return losses;
}

double mean(const std::vector<double>& v, size_t from, size_t count) {
  double sum = 0;
  for (size_t i = from; i < from + count; ++i)
    sum += v.at(i);
  return sum / static_cast<double>(count);
}

// The model of a checkpoint, rebuilt from the configuration stored in it.
std::unique_ptr<train::ModuleModel> load_model(const std::string& checkpoint) {
  const json config = train::read_checkpoint_state(checkpoint).config;
  auto model = train::wrap_module(
      models::create_model(config.at("model").at("name"), config.at("model").at("config")));
  train::load_checkpoint(checkpoint, *model, nullptr, torch::kCPU, /*restore_rng=*/false);
  return model;
}

std::string event_file(const std::string& folder) {
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) {
      return entry.path().string();
    }
  }
  return "";
}

class TrainCMambaProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kProgram) || !fs::exists(kPrepare)) {
      GTEST_SKIP() << kProgram << " or " << kPrepare << " not built";
    }
  }
};

TEST_F(TrainCMambaProgram, TrainsResumesExactlyAndForecasts) {
  TempDir dir;
  const std::string npz =
      prepare(dir, kSampleSeries, "--input_length 32 --forecast_length 8 --test_size 0.15");
  const std::string common = "--train_dataset " + npz + " --output_dir " + dir.file("runs") +
                             kTinyModel + " --patience 0 --seed 7";

  // Uninterrupted: 3 epochs.
  const RunResult full = run_program(dir, common + " --project_name full --num_epochs 3");
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const std::string run = dir.file("runs/full");
  for (const char* file :
       {"config.json", "training_log.json", "metrics.jsonl", "checkpoints/best.pt",
        "checkpoints/last.pt", "forecast_metrics.json", "predictions.npz"}) {
    EXPECT_TRUE(fs::exists(run + "/" + file)) << file << "\n" << full.output;
  }
  EXPECT_NE(full.output.find("optimizer.lr"), std::string::npos) << "config table printed";

  // The loss falls: the last batches against the first ones, and epoch 3 against epoch 1.
  const std::vector<double> losses = batch_losses(run);
  ASSERT_GE(losses.size(), 30u);
  constexpr size_t kWindow = 5;
  EXPECT_LT(mean(losses, losses.size() - kWindow, kWindow), 0.8 * mean(losses, 0, kWindow));
  const json log = read_json(run + "/training_log.json");
  ASSERT_EQ(log.at("epochs").size(), 3u);
  EXPECT_EQ(log.at("status"), "completed");
  EXPECT_LT(log["epochs"][2]["train_loss"].get<double>(),
            log["epochs"][0]["train_loss"].get<double>());
  EXPECT_TRUE(log["epochs"][2].contains("val_loss"));
  EXPECT_TRUE(log["test"].contains("metrics"));

  // metrics.jsonl: batch, epoch and weight records.
  size_t epochs = 0, weights = 0;
  for (const json& record : read_jsonl(run + "/metrics.jsonl")) {
    epochs += record.at("type") == "epoch";
    weights += record.at("type") == "weights";
  }
  EXPECT_EQ(epochs, 3u);
  EXPECT_GE(weights, 3u);

  // TensorBoard: the event file parses, with per-step and per-epoch tags.
  const std::string events = event_file(run + "/tensorboard");
  ASSERT_FALSE(events.empty());
  const std::vector<std::string> records = io::read_tfrecords(events);
  EXPECT_GT(records.size(), losses.size());
#ifdef SSMKIT_TEST_PROTOBUF
  std::map<std::string, int> tags;
  for (size_t i = 1; i < records.size(); ++i) {
    ssmkit::tensorboard::Event event;
    ASSERT_TRUE(event.ParseFromString(records[i]));
    for (const auto& value : event.summary().value())
      ++tags[value.tag()];
  }
  EXPECT_EQ(tags["train/loss"], static_cast<int>(losses.size()));
  EXPECT_EQ(tags["train/grad_norm"], static_cast<int>(losses.size()));
  EXPECT_EQ(tags["epoch/val_loss"], 3);
  EXPECT_EQ(tags["epoch/val_mae"], 3);
  EXPECT_EQ(tags["test/mse"], 1);
#endif

  // Figures are real PNGs of the default size.
  if (fs::exists(run + "/training_curves.png") || fs::exists(run + "/forecasts.png")) {
    for (const char* png : {"training_curves.png", "forecasts.png"}) {
      const testing::PngImage image = testing::read_png(run + "/" + png);
      EXPECT_GT(image.width, 100u) << png;
      EXPECT_GT(image.distinct_colours(), 3u) << png;
    }
  }

  // The test report: normalised and original-scale errors, per channel too.
  const json report = read_json(run + "/forecast_metrics.json");
  const double test_mse = report.at("normalized").at("mse").get<double>();
  EXPECT_GT(test_mse, 0);
  EXPECT_NEAR(test_mse, log["test"]["metrics"]["test_mse"].get<double>(), 1e-6 * test_mse);
  EXPECT_GT(report.at("original").at("mse").get<double>(), 0);
  EXPECT_EQ(report.at("channels"), json({"load", "temperature", "humidity"}));
  const io::Npz predictions = io::read_npz(run + "/predictions.npz");
  EXPECT_EQ(predictions.array("predictions").shape(),
            (std::vector<int64_t>{report.at("windows").get<int64_t>(), kHorizon, 3}));

  // Interrupted: 2 epochs, then resumed to 3 (as a run killed after its second checkpoint).
  ASSERT_EQ(run_program(dir, common + " --project_name split --num_epochs 2").exit_code, 0);
  const std::string split_run = dir.file("runs/split");
  const RunResult resumed =
      run_program(dir, "--resume " + split_run + " --num_epochs 3 --progress off --threads 1");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const auto a = load_model(run + "/checkpoints/last.pt");
  const auto b = load_model(split_run + "/checkpoints/last.pt");
  const auto a_params = a->named_parameters();
  const auto b_params = b->named_parameters();
  ASSERT_EQ(a_params.size(), b_params.size());
  for (size_t i = 0; i < a_params.size(); ++i) {
    EXPECT_TRUE(torch::equal(a_params[i].value(), b_params[i].value())) << a_params[i].key();
  }
  const json split_log = read_json(split_run + "/training_log.json");
  ASSERT_EQ(split_log.at("epochs").size(), 3u);
  for (size_t e = 0; e < 3; ++e) {
    EXPECT_EQ(split_log["epochs"][e]["train_loss"], log["epochs"][e]["train_loss"]) << e;
    EXPECT_EQ(split_log["epochs"][e]["val_loss"], log["epochs"][e]["val_loss"]) << e;
  }
  EXPECT_EQ(read_json(split_run + "/forecast_metrics.json")["normalized"], report["normalized"]);
  EXPECT_EQ(batch_losses(split_run), losses);

  // Forecast mode rebuilds the model from the checkpoint alone and reproduces the report.
  const RunResult forecast =
      run_program(dir, "forecast --checkpoint " + run + " --test_dataset " + npz +
                           " --output_dir " + dir.file("forecast") + " --threads 1");
  ASSERT_EQ(forecast.exit_code, 0) << forecast.output;
  const json again = read_json(dir.file("forecast/forecast_metrics.json"));
  EXPECT_EQ(again["normalized"], report["normalized"]);
  EXPECT_EQ(again["original"], report["original"]);
  EXPECT_TRUE(fs::exists(dir.file("forecast/predictions.npz")));
}

// Writes a forecasting archive like prepare_data's, with `windows` windows of L -> H steps over C
// channels of random values; `drop` names an array to leave out, `poison` puts a NaN in X_val.
std::string write_archive(const TempDir& dir, const std::string& name, int64_t L, int64_t H,
                          int64_t C, const std::string& drop = "", bool poison = false) {
  constexpr int64_t kWindows = 80;
  io::Npz npz;
  for (const char* split : {"train", "val", "test"}) {
    at::Tensor x = torch::randn({kWindows, L, C});
    if (poison && std::string(split) == "val") {
      x[3][5][1] = std::numeric_limits<float>::quiet_NaN();
    }
    npz.set(std::string("X_") + split, data::to_array(x));
    npz.set(std::string("y_") + split, data::to_array(torch::randn({kWindows, H, C})));
  }
  npz.set("scaler_mean", data::to_array(torch::zeros({C}, torch::kDouble)));
  npz.set("scaler_scale", data::to_array(torch::ones({C}, torch::kDouble)));
  io::Npz kept;
  for (const auto& [key, value] : npz.entries()) {
    if (key != drop) kept.set(key, value);
  }
  const std::string path = dir.file(name);
  io::write_npz(path, kept);
  return path;
}

void expect_failure(const RunResult& run, const std::vector<std::string>& fragments,
                    bool with_usage = false) {
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_EQ(run.output.rfind("train_c_mamba: ", 0), 0u) << run.output;
  const auto lines = std::count(run.output.begin(), run.output.end(), '\n');
  if (with_usage) {
    EXPECT_NE(run.output.find("usage: train_c_mamba"), std::string::npos) << run.output;
  } else {
    EXPECT_EQ(lines, 1) << "one line: " << run.output;
  }
  const std::string first_line = run.output.substr(0, run.output.find('\n'));
  for (const std::string& fragment : fragments) {
    EXPECT_NE(first_line.find(fragment), std::string::npos)
        << "\"" << first_line << "\" lacks \"" << fragment << "\"";
  }
}

// Lightning-style spellings: any key by its dotted name, --print_config's JSON back through
// --config gives the same configuration; nothing is trained or written.
TEST_F(TrainCMambaProgram, PrintsAConfigThatConfigReadsBack) {
  TempDir dir;
  const std::string npz = write_archive(dir, "ok.npz", kSeqLen, kHorizon, 3);
  const std::string base = "--train_dataset " + npz + " --output_dir " + dir.file("runs") +
                           kTinyModel + " --model.config.expand=3 --trainer.ema_decay 0.5";
  const RunResult printed = run_program(dir, base + " --print_config");
  ASSERT_EQ(printed.exit_code, 0) << printed.output;
  const json config = json::parse(printed.output);
  EXPECT_EQ(config["model"]["config"]["expand"], 3);
  EXPECT_DOUBLE_EQ(config["trainer"]["ema_decay"].get<double>(), 0.5);
  EXPECT_EQ(config["model"]["config"]["seq_len"], kSeqLen);
  const std::string file = dir.write("printed.json", printed.output);
  const RunResult again = run_program(dir, "--config " + file + " --print_config");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(json::parse(again.output), config);
  EXPECT_FALSE(fs::exists(dir.file("runs")));
}

TEST_F(TrainCMambaProgram, RejectsBadFlagsWithUsage) {
  TempDir dir;
  const std::string npz = write_archive(dir, "ok.npz", kSeqLen, kHorizon, 3);
  const std::string base =
      "--train_dataset " + npz + " --output_dir " + dir.file("runs") + kTinyModel;
  expect_failure(run_program(dir, base + " --bogus 1"), {"bogus"}, true);
  expect_failure(run_program(dir, base + " stray"), {"unexpected argument 'stray'"}, true);
  expect_failure(run_program(dir, "--num_epochs 1"), {"--train_dataset", "missing"}, true);
  expect_failure(run_program(dir, base + " --batch_size many"), {"--batch_size", "many"});
  expect_failure(run_program(dir, base + " --loss huber"), {"--loss", "'huber'", "mse or mae"});
  expect_failure(run_program(dir, base + " --num_layers 0"), {"--num_layers", "n_layers"});
  expect_failure(run_program(dir, base + " --device tpu"), {"tpu"});
  expect_failure(run_program(dir, base + " --encoder lstm"), {"--encoder", "\"lstm\"", "st"});
  expect_failure(run_program(dir, base + " --mixer s4"), {"--mixer", "\"s4\"", "m_mamba"});
  expect_failure(run_program(dir, base + " --step_mode fast"), {"trainer.step", "fast"});
  expect_failure(run_program(dir, base + " --ema_decay 1.5"), {"trainer.ema_decay", "[0, 1)"});
  expect_failure(run_program(dir, "forecast --checkpoint x --bogus 1"), {"bogus"}, true);
  expect_failure(run_program(dir, "forecast --test_dataset " + npz), {"--checkpoint", "missing"},
                 true);
  EXPECT_FALSE(fs::exists(dir.file("runs"))) << "no run folder for rejected flags";
  const RunResult help = run_program(dir, "--help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag :
       {"--train_dataset", "--test_dataset", "--project_name", "--learning_rate", "--num_epochs",
        "--batch_size",    "--seq_len",      "--forecast_len", "--input_dim",     "--hidden_dim",
        "--num_layers",    "--patch_len",    "--stride",       "--d_state",       "--sigma",
        "--reduction",     "--dropout",      "--loss",         "--patience",      "--lradj",
        "--seed",          "--device",       "--output_dir",   "--resume",        "--config",
        "--threads",       "--trace_shapes", "--encoder",      "--mixer",         "--step_mode",
        "--ema_decay"}) {
    EXPECT_NE(help.output.find(flag), std::string::npos) << flag;
  }
}

TEST_F(TrainCMambaProgram, RejectsBadDataAndCheckpoints) {
  TempDir dir;
  const std::string good = write_archive(dir, "good.npz", kSeqLen, kHorizon, 3);
  const std::string args = " --output_dir " + dir.file("runs") + kTinyModel;
  const auto train_on = [&](const std::string& npz, const std::string& extra = "") {
    return run_program(dir, "--train_dataset " + npz + args + extra);
  };
  expect_failure(train_on(dir.file("absent.npz")), {"absent.npz", "cannot open"});
  expect_failure(train_on(good, " --test_dataset " + dir.file("none.npz")), {"none.npz"});
  const std::string not_zip = testing::write_bytes(dir.file("text.npz"), "not a zip archive");
  expect_failure(train_on(not_zip), {"text.npz", "not a valid .npz"});
  expect_failure(train_on(write_archive(dir, "no_y.npz", kSeqLen, kHorizon, 3, "y_val")),
                 {"no_y.npz", "no array 'y_val'"});
  expect_failure(train_on(write_archive(dir, "no_scaler.npz", kSeqLen, kHorizon, 3, "scaler_mean")),
                 {"no_scaler.npz", "'scaler_mean'"});
  expect_failure(train_on(write_archive(dir, "c4.npz", kSeqLen, kHorizon, 4)),
                 {"--input_dim", "3", "c4.npz", "4 channels"});
  expect_failure(train_on(write_archive(dir, "l24.npz", 24, kHorizon, 3)),
                 {"--seq_len", "32", "l24.npz", "24 input steps"});
  expect_failure(train_on(write_archive(dir, "h6.npz", kSeqLen, 6, 3)),
                 {"--forecast_len", "8", "h6.npz", "6 forecast steps"});
  expect_failure(train_on(write_archive(dir, "nan.npz", kSeqLen, kHorizon, 3, "", true)),
                 {"nan.npz", "X_val", "non-finite", "window 3, step 5, channel 1"});
  expect_failure(train_on(good, " --batch_size 500"), {"--batch_size", "500", "80"});
  EXPECT_FALSE(fs::exists(dir.file("runs"))) << "no run folder for rejected data";

  // A corrupt checkpoint: garbage bytes, then a truncated real one.
  fs::create_directories(dir.file("runs/broken/checkpoints"));
  testing::write_bytes(dir.file("runs/broken/checkpoints/last.pt"), "garbage, not an archive");
  expect_failure(run_program(dir, "--resume " + dir.file("runs/broken")), {"last.pt"});
  expect_failure(
      run_program(dir, "forecast --checkpoint " + dir.file("runs/broken") + " --test_dataset " +
                           good + " --output_dir " + dir.file("out")),
      {"last.pt"});
  expect_failure(run_program(dir, "--resume " + dir.file("runs/absent")),
                 {"--resume", "runs/absent"});
  ASSERT_EQ(train_on(good, " --project_name ok --num_epochs 1").exit_code, 0);
  const std::string last = dir.file("runs/ok/checkpoints/last.pt");
  const std::string bytes = io::read_file_bytes(last);
  testing::write_bytes(last, bytes.substr(0, bytes.size() / 2));
  expect_failure(run_program(dir, "--resume " + dir.file("runs/ok") + " --num_epochs 2"),
                 {"last.pt"});
  // A named run folder is never overwritten.
  expect_failure(train_on(good, " --project_name ok"), {"--resume"});
}

// The real protocol's data: ETTh1 with the standard borders; a tiny model learns from it.
TEST_F(TrainCMambaProgram, TrainsOnEtth1) {
  const std::string csv = testing::shared_data_path("ett/ETTh1.csv");
  if (csv.empty()) GTEST_SKIP() << "ETTh1.csv is absent (expected under ../shared/data/ett/)";
  TempDir dir;
  const std::string npz = prepare(dir, csv, "--input_length 96 --forecast_length 24 --split ett");
  const RunResult run = run_program(
      dir, "--train_dataset " + npz + " --output_dir " + dir.file("runs") +
               " --project_name ett --seq_len 96 --forecast_len 24 --input_dim 7 --hidden_dim 16"
               " --num_layers 1 --d_state 4 --batch_size 256 --learning_rate 0.005 --num_epochs 1"
               " --loss mae --progress off --threads 2");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::vector<double> losses = batch_losses(dir.file("runs/ett"));
  // Full batches of the ETT training windows: rows [0, 8640) hold 8640 - 96 - 24 + 1 of them.
  ASSERT_EQ(losses.size(), (8640u - 96u - 24u + 1u) / 256u);
  constexpr size_t kWindow = 4;
  EXPECT_LT(mean(losses, losses.size() - kWindow, kWindow), 0.9 * mean(losses, 0, kWindow));
  const json report = read_json(dir.file("runs/ett/forecast_metrics.json"));
  // Test rows [11520 - 96, 14400), windows of 96 -> 24 steps.
  EXPECT_EQ(report.at("windows"), 14400 - (11520 - 96) - 96 - 24 + 1);
  EXPECT_LT(report.at("normalized").at("mae").get<double>(), 1.0);
}

}  // namespace
}  // namespace ssmkit
