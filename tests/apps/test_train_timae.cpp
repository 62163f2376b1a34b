// The train_timae program end to end: the seed's four commands (pretraining with both encoders,
// fine-tuning from the pretraining checkpoint, testing) run as written with the real ECG5000 files
// and epochs cut, and write Lightning's tree; the pretrained encoder reaches the classifier
// unchanged; a fit paused after epoch 2 and resumed from its checkpoint ends with the weights of
// an uninterrupted run; --model.layer_lr_decay reaches the optimizer and the run's records;
// --print_config reads back through --config; every bad input fails with one error line and
// leaves no run folder.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/program_run.h"
#include "ssmkit/io/file_bytes.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/models/timae.h"
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

const std::string kTimae = std::string(SSMKIT_BINARY_DIR) + "/apps/train_timae";

// A model that trains on the tiny files below in well under a second per epoch.
const std::string kTinyTimae =
    " --model.emb_size 8 --model.decoder_emb_size 8 --model.num_heads 2 --model.num_decoder_heads 2"
    " --model.num_layers 1 --model.num_decoder_layers 1 --model.intermediate_dim 16"
    " --model.decoder_intermediate_dim 16 --data.batch_size 16 --trainer.enable_progress_bar False"
    " --trainer.accelerator cpu --threads 1";

// n series of `length` steps in 3 classes (labels 1..3), each a sine of its class's frequency.
std::string timae_tsv(int64_t n, int64_t length, int64_t extra_label = 0) {
  std::ostringstream text;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = (i == 0 && extra_label != 0) ? extra_label : 1 + i % 3;
    text << label;
    for (int64_t t = 0; t < length; ++t)
      text << '\t' << std::sin(0.3 * static_cast<double>(label * t) + 0.1 * static_cast<double>(i));
    text << '\n';
  }
  return text.str();
}

ProgramRun timae(const TempDir& dir, const std::string& args) {
  return testing::run_command(dir, "cd " + dir.path().string() + " && " + kTimae + " " + args);
}

// The model tensors of a checkpoint, by name.
std::map<std::string, at::Tensor> checkpoint_tensors(const std::string& path) {
  const train::CheckpointState state = train::read_checkpoint_state(path);
  const json& lightning = state.config.at("lightning");
  json network = lightning["model"]["init_args"];
  for (const char* key : {"lr", "weight_decay", "encoder_ckpt_path", "class_weights",
                          "label_smoothing", "layer_lr_decay"})
    network.erase(key);
  auto model = models::create_model(lightning["model"]["class_path"], network);
  auto trainable = train::wrap_module(model);
  train::load_checkpoint(path, *trainable, nullptr, torch::kCPU, false);
  std::map<std::string, at::Tensor> out;
  for (const auto& item : model->named_parameters())
    out[item.key()] = item.value().detach().clone();
  return out;
}

std::string lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(TrainTimae, SeedCommandsRunAsWrittenAndWriteLightningsTree) {
  const std::string train_file = testing::shared_data_path("ucr/ECG5000/ECG5000_TRAIN.tsv");
  const std::string test_file =
      testing::shared_data_path("ucr/ECG5000/ECG5000_TEST_approx4499_float32.tsv");
  if (train_file.empty() || test_file.empty()) GTEST_SKIP() << "ECG5000 not in ../shared/data/ucr";
  const TempDir dir;
  // The seed's pretraining command; the 4,499 test series replaced by the 500 training series and
  // 1,000 epochs by 1 to keep the test short.
  const ProgramRun pretrain = timae(
      dir,
      "fit --model TiMAEForPretraining --model.lr 1e-3 --model.input_dim 1 --model.num_heads 4 "
      "--model.num_decoder_heads 4 --model.num_layers 2 --model.num_decoder_layers 2 "
      "--model.emb_size 64 --model.decoder_emb_size 32 --model.intermediate_dim 256 "
      "--model.decoder_intermediate_dim 128 --model.cls_embed True --model.max_len 140 "
      "--data.batch_size 64 --data.dataset_path " +
          train_file + " --data.val_dataset_path " + train_file +
          " --data.pretrain True --trainer.max_epochs 1  --trainer.callbacks+=LearningRateMonitor "
          "--trainer.callbacks.logging_interval=step --model.seq_len 140 --data.normalize False "
          "--trainer.log_every_n_steps 1 --model.mask_ratio 0.75 --trainer.enable_progress_bar "
          "False");
  ASSERT_EQ(pretrain.exit_code, 0) << pretrain.output;
  const fs::path run0 = dir.path() / "lightning_logs" / "version_0";
  for (const char* file : {"checkpoints/epoch=0-step=8.ckpt", "checkpoints/last.ckpt",
                           "config.yaml", "hparams.yaml", "metrics.csv", "training_curves.png"}) {
    EXPECT_TRUE(fs::exists(run0 / file)) << file;
  }
  bool events = false;
  for (const auto& entry : fs::directory_iterator(run0))
    events |= entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  EXPECT_TRUE(events) << "TensorBoard events in the version folder";
  const std::string csv = lines_of(run0 / "metrics.csv");
  EXPECT_THAT(csv,
              HasSubstr("epoch,step,train_loss,train_loss_epoch,val_loss,test_loss,lr-AdamW\n"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 8 + 1) << csv;  // header, 8 steps, epoch

  const ProgramRun mamba = timae(
      dir,
      "fit --model TiMAEMambaForPretraining --model.lr 1e-3 --model.input_dim 1 --model.num_heads "
      "8 "
      "--model.num_decoder_heads 8 --model.ssm_state_size 64 --model.decoder_ssm_state_size 64 "
      "--model.emb_size 64 --model.decoder_emb_size 32 --model.cls_embed True --data.batch_size 64 "
      "--data.dataset_path " +
          train_file + " --data.val_dataset_path " + train_file +
          " --data.pretrain True --trainer.max_epochs 1  --trainer.callbacks+=LearningRateMonitor "
          "--trainer.callbacks.logging_interval=step --model.seq_len 140 --data.normalize False "
          "--trainer.log_every_n_steps 1 --model.mask_ratio 0.75 --trainer.enable_progress_bar "
          "False");
  ASSERT_EQ(mamba.exit_code, 0) << mamba.output;

  // The seed's fine-tuning command, with its escaped '=' in the checkpoint name.
  const ProgramRun finetune = timae(
      dir,
      "fit --model TiMAE --model.lr 1e-3 --model.input_dim 1 --model.num_heads 4 "
      "--model.num_layers 2 "
      "--model.emb_size 64 --model.intermediate_dim 256 --model.cls_embed True --model.max_len 140 "
      "--data.batch_size 64 --data.dataset_path " +
          train_file +
          " --data.pretrain False "
          "--trainer.max_epochs 1  --trainer.callbacks+=LearningRateMonitor "
          "--trainer.callbacks.logging_interval=step --data.normalize False "
          "--trainer.log_every_n_steps 1 "
          "--model.encoder_ckpt_path lightning_logs/version_0/checkpoints/epoch\\=0-step\\=8.ckpt "
          "--trainer.enable_progress_bar False");
  ASSERT_EQ(finetune.exit_code, 0) << finetune.output;
  EXPECT_THAT(
      finetune.output,
      HasSubstr("encoder weights from lightning_logs/version_0/checkpoints/epoch=0-step=8.ckpt"));

  const ProgramRun test = timae(
      dir,
      "test --model TiMAE --model.lr 1e-3 --model.input_dim 1 --model.num_heads 4 "
      "--model.num_layers 2 "
      "--model.emb_size 64 --model.intermediate_dim 256 --model.cls_embed True --model.max_len 140 "
      "--data.batch_size 64 --data.dataset_path " +
          test_file +
          " --data.pretrain False "
          "--trainer.max_epochs 100  --trainer.callbacks+=LearningRateMonitor "
          "--trainer.callbacks.logging_interval=step --data.normalize False "
          "--trainer.log_every_n_steps 1 "
          "--ckpt_path lightning_logs/version_2/checkpoints/epoch\\=0-step\\=7.ckpt");
  ASSERT_EQ(test.exit_code, 0) << test.output;
  EXPECT_THAT(test.output, HasSubstr("test_accuracy"));
  EXPECT_THAT(test.output, HasSubstr("macro avg"));
  const fs::path run3 = dir.path() / "lightning_logs" / "version_3";
  const json metrics = json::parse(lines_of(run3 / "test_metrics.json"));
  EXPECT_EQ(metrics["series"], 4499);
  EXPECT_EQ(metrics["confusion_matrix"].size(), 5u);
  EXPECT_GT(metrics["test_accuracy"].get<double>(), 0.0);
  EXPECT_TRUE(fs::exists(run3 / "confusion_matrix.png"));
  EXPECT_TRUE(fs::exists(run3 / "classification_report.txt"));
}

TEST(TrainTimae, TheClassifierStartsFromTheSavedEncoder) {
  const TempDir dir;
  const std::string data = dir.write("train.tsv", timae_tsv(48, 20));
  const ProgramRun pretrain = timae(dir,
                                    "fit --model TiMAEForPretraining --data.pretrain True "
                                    "--data.dataset_path train.tsv --trainer.max_epochs 1" +
                                        kTinyTimae);
  ASSERT_EQ(pretrain.exit_code, 0) << pretrain.output;
  const std::string ckpt = (dir.path() / "lightning_logs/version_0/checkpoints/last.ckpt").string();
  const auto saved = checkpoint_tensors(ckpt);
  // What the program does with --model.encoder_ckpt_path, on a fresh classifier.
  auto classifier = std::dynamic_pointer_cast<models::TiMAEImpl>(
      models::create_model("TiMAE", {{"emb_size", 8},
                                     {"decoder_emb_size", 8},
                                     {"num_heads", 2},
                                     {"num_layers", 1},
                                     {"intermediate_dim", 16},
                                     {"num_classes", 3}}));
  train::load_submodule_weights(ckpt, "encoder", *classifier->encoder);
  size_t compared = 0;
  for (const auto& item : classifier->encoder->named_parameters()) {
    ASSERT_TRUE(saved.count("encoder." + item.key())) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), saved.at("encoder." + item.key()))) << item.key();
    ++compared;
  }
  EXPECT_GT(compared, 10u);
  const ProgramRun finetune =
      timae(dir,
            "fit --model TiMAE --data.dataset_path train.tsv --trainer.max_epochs 1 "
            "--model.encoder_ckpt_path " +
                ckpt + kTinyTimae);
  ASSERT_EQ(finetune.exit_code, 0) << finetune.output;
  EXPECT_THAT(finetune.output, HasSubstr("encoder weights from"));
}

TEST(TrainTimae, APausedFitResumedFromItsCheckpointEndsWithTheSameWeights) {
  const TempDir straight, paused;
  for (const TempDir* dir : {&straight, &paused})
    dir->write("train.tsv", timae_tsv(48, 20));
  const std::string args =
      "fit --model TiMAE --data.dataset_path train.tsv --trainer.max_epochs 3 "
      "--model.pooling avg --data.crop_size 16 --data.scale_std 0.1 --data.jitter_std 0.05" +
      kTinyTimae;
  ASSERT_EQ(timae(straight, args).exit_code, 0);
  const ProgramRun first = timae(paused, args + " --trainer.pause_after_epoch 2");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(
      fs::exists(paused.path() / "lightning_logs/version_0/checkpoints/epoch=1-step=6.ckpt"));
  const ProgramRun resumed =
      timae(paused, args + " --ckpt_path lightning_logs/version_0/checkpoints/epoch=1-step=6.ckpt");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const auto a = checkpoint_tensors(
      (straight.path() / "lightning_logs/version_0/checkpoints/last.ckpt").string());
  const auto b = checkpoint_tensors(
      (paused.path() / "lightning_logs/version_0/checkpoints/last.ckpt").string());
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) {
    EXPECT_LT(testing::relative_error(b.at(name), tensor), 1e-6) << name;
  }
  EXPECT_EQ(lines_of(straight.path() / "lightning_logs/version_0/metrics.csv"),
            lines_of(paused.path() / "lightning_logs/version_0/metrics.csv"));
}

// Lightning's EMAWeightAveraging: validation runs with the average of the weights, and so do the
// checkpoint's test and the encoder that a fine-tuning takes from it.
TEST(TrainTimae, EmaWeightAveragingValidatesAndTestsTheAverage) {
  const TempDir dir;
  dir.write("train.tsv", timae_tsv(48, 20));
  const std::string averaging =
      " --trainer.callbacks+=EMAWeightAveraging --trainer.callbacks.decay 0.9";
  const ProgramRun fit = timae(dir,
                               "fit --model TiMAE --data.dataset_path train.tsv "
                               "--data.val_dataset_path train.tsv --trainer.max_epochs 2" +
                                   averaging + kTinyTimae);
  ASSERT_EQ(fit.exit_code, 0) << fit.output;
  const ProgramRun test = timae(dir,
                                "test --model TiMAE --data.dataset_path train.tsv --ckpt_path "
                                "lightning_logs/version_0/checkpoints/last.ckpt" +
                                    kTinyTimae);
  ASSERT_EQ(test.exit_code, 0) << test.output;
  EXPECT_THAT(test.output, HasSubstr("weight average"));
  // The test of the validation file reproduces the last validation, which used the average.
  const json metrics =
      json::parse(lines_of(dir.path() / "lightning_logs/version_1/test_metrics.json"));
  const train::CheckpointState state = train::read_checkpoint_state(
      (dir.path() / "lightning_logs/version_0/checkpoints/last.ckpt").string());
  ASSERT_FALSE(state.tensors.empty()) << "the checkpoint holds the average";
  const json& history = state.trainer.at("log").at("epochs");
  const double val_loss = history.back().at("val_loss").get<double>();
  EXPECT_NEAR(metrics["test_loss"].get<double>(), val_loss, 1e-5 * (1.0 + val_loss));
  // The raw weights are not the average.
  const auto raw =
      checkpoint_tensors((dir.path() / "lightning_logs/version_0/checkpoints/last.ckpt").string());
  bool differs = false;
  for (const auto& [name, average] : state.tensors)
    differs |= !torch::equal(raw.at(name), average);
  EXPECT_TRUE(differs);
}

// MAE's layer-wise decay for one encoder layer (N = 1): the embedding and the CLS token at
// d^2, the layer at d, the norm and the head at the base rate.
TEST(TrainTimae, LayerLrDecayReachesTheOptimizerAndTheRunsRecords) {
  const TempDir dir;
  dir.write("train.tsv", timae_tsv(48, 20));
  const ProgramRun fit = timae(dir,
                               "fit --model TiMAE --data.dataset_path train.tsv "
                               "--trainer.max_epochs 1 --model.layer_lr_decay 0.75" +
                                   kTinyTimae);
  ASSERT_EQ(fit.exit_code, 0) << fit.output;
  const fs::path run = dir.path() / "lightning_logs" / "version_0";
  EXPECT_THAT(lines_of(run / "hparams.yaml"), HasSubstr("layer_lr_decay: 0.75\n"));
  EXPECT_THAT(lines_of(run / "config.yaml"), HasSubstr("layer_lr_decay: 0.75\n"));
  const train::CheckpointState state =
      train::read_checkpoint_state((run / "checkpoints/last.ckpt").string());
  const json expected = json::parse(
      R"([["encoder.embedding", 0.5625], ["encoder.cls_token", 0.5625], ["encoder.layers.0", 0.75]])");
  EXPECT_EQ(state.config.at("optimizer").at("lr_scales"), expected);
  EXPECT_EQ(state.config.at("lightning").at("model").at("init_args").at("layer_lr_decay"), 0.75);
  // Without the flag the optimizer has no scales.
  const ProgramRun plain = timae(dir,
                                 "fit --model TiMAE --data.dataset_path train.tsv "
                                 "--trainer.max_epochs 1" +
                                     kTinyTimae);
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  const train::CheckpointState unscaled = train::read_checkpoint_state(
      (dir.path() / "lightning_logs/version_1/checkpoints/last.ckpt").string());
  EXPECT_EQ(unscaled.config.at("optimizer").at("lr_scales"), json::array());
}

TEST(TrainTimae, PrintedConfigReadsBackThroughConfig) {
  const TempDir dir;
  const ProgramRun printed =
      timae(dir,
            "fit --model TiMAEMamba --model.pooling avg --data.batch_size 32 "
            "--trainer.callbacks+=LearningRateMonitor --model.layer_lr_decay 0.8 --print_config");
  ASSERT_EQ(printed.exit_code, 0) << printed.output;
  EXPECT_THAT(printed.output, HasSubstr("class_path: TiMAEMamba"));
  EXPECT_THAT(printed.output, HasSubstr("layer_lr_decay: 0.8\n"));
  EXPECT_THAT(printed.output, HasSubstr("num_heads: 8")) << "the Mamba model's own defaults";
  dir.write("config.yaml", printed.output);
  const ProgramRun again = timae(dir, "fit --config config.yaml --print_config");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.output, printed.output);
  // The form Lightning writes: class paths with modules, callbacks with init_args.
  dir.write(
      "lightning.yaml",
      "model:\n  class_path: network.ti_mae.TiMAE\n  init_args:\n    lr: 0.002\n"
      "trainer:\n  callbacks:\n  - class_path: lightning.pytorch.callbacks.LearningRateMonitor\n"
      "    init_args:\n      logging_interval: step\n");
  const ProgramRun lightning = timae(dir, "fit --config lightning.yaml --print_config");
  ASSERT_EQ(lightning.exit_code, 0) << lightning.output;
  EXPECT_THAT(lightning.output, HasSubstr("class_path: TiMAE\n"));
  EXPECT_THAT(lightning.output, HasSubstr("logging_interval: step"));
}

TEST(TrainTimae, BadInputsGiveOneErrorLineAndNoRunFolder) {
  const TempDir dir;
  dir.write("train.tsv", timae_tsv(48, 20));
  dir.write("ragged.tsv", "1\t0.1\t0.2\t0.3\n2\t0.1\t0.2\n");
  dir.write("text.tsv", "1\t0.1\tx\t0.3\n");
  dir.write("nine.tsv", timae_tsv(10, 20, 9));
  // A pretraining checkpoint of another width, for the encoder hand-over.
  ASSERT_EQ(
      timae(dir,
            "fit --model TiMAEForPretraining --data.pretrain True --data.dataset_path train.tsv "
            "--trainer.max_epochs 1 --trainer.default_root_dir wide" +
                kTinyTimae + " --model.emb_size 12")
          .exit_code,
      0);
  ASSERT_EQ(timae(dir,
                  "fit --model TiMAE --data.dataset_path train.tsv --trainer.max_epochs 1 "
                  "--trainer.default_root_dir trained" +
                      kTinyTimae)
                .exit_code,
            0);
  const std::string base = "fit --model TiMAE --data.dataset_path train.tsv" + kTinyTimae;
  const struct {
    std::string args;
    std::vector<std::string> expected;
  } cases[] = {
      {"fit --model TiMAE --data.dataset_path missing.tsv" + kTinyTimae, {"missing.tsv"}},
      {"fit --model TiMAE --data.dataset_path ragged.tsv" + kTinyTimae, {"ragged.tsv", "line 2"}},
      {"fit --model TiMAE --data.dataset_path text.tsv" + kTinyTimae, {"text.tsv"}},
      {base + " --data.class_id_start 2", {"train.tsv", "label 1", "class_id_start"}},
      {"test --model TiMAE --data.dataset_path nine.tsv --ckpt_path "
       "trained/lightning_logs/version_0/checkpoints/last.ckpt" +
           kTinyTimae,
       {"nine.tsv", "label 9 is outside the classes 1..3"}},
      {"fit --model TiMAEForPretraining --data.pretrain True --data.dataset_path train.tsv "
       "--model.mask_ratio 1.5" +
           kTinyTimae,
       {"--model.mask_ratio", "(0, 1)"}},
      {base + " --data.crop_size 30", {"--data.crop_size", "30"}},
      {base + " --data.scale_std -0.1", {"--data.scale_std", ">= 0", "-0.1"}},
      {base + " --data.jitter_std nan", {"--data.jitter_std", "expected a number", "nan"}},
      {base + " --model.label_smoothing 1", {"--model.label_smoothing", "[0, 1)"}},
      {base + " --model.finetune_mask_ratio 0.99",
       {"--model.finetune_mask_ratio", "keeps no step"}},
      {base + " --model.layer_lr_decay 0", {"--model.layer_lr_decay", "(0, 1]", "got 0"}},
      {base + " --model.layer_lr_decay 1.5", {"--model.layer_lr_decay", "(0, 1]", "got 1.5"}},
      {"fit --model TiMAEForPretraining --data.pretrain True --data.dataset_path train.tsv "
       "--model.layer_lr_decay 0.75" +
           kTinyTimae,
       {"--model.layer_lr_decay", "only the classifiers", "TiMAEForPretraining"}},
      {base + " --model.encoder_ckpt_path wide/lightning_logs/version_0/checkpoints/last.ckpt",
       {"--model.encoder_ckpt_path", "tensor 'encoder.", "shape"}},
      {"fit --model TiMAX --data.dataset_path train.tsv",
       {"--model", "TiMAX", "TiMAEMambaForPretraining"}},
      {base + " --model.emb_sise 8", {"emb_sise", "model arguments", "emb_size"}},
      {base + " --ckpt_path missing.ckpt", {"--ckpt_path", "missing.ckpt", "does not exist"}},
      {base + " --ckpt_path train.tsv", {"--ckpt_path", "train.tsv"}},
      {"test --model TiMAE --data.dataset_path train.tsv --ckpt_path "
       "trained/lightning_logs/version_0/checkpoints/last.ckpt" +
           kTinyTimae + " --data.batch_size 0",
       {"--data.batch_size"}},
      {base + " --model.cls_embed maybe", {"cls_embed", "maybe"}},
      {"fit --model TiMAEForPretraining --data.dataset_path train.tsv" + kTinyTimae,
       {"--data.pretrain"}},
      {"test --model TiMAE --data.dataset_path train.tsv" + kTinyTimae, {"--ckpt_path"}},
      {"train --model TiMAE", {"'train' is not a subcommand"}},
      {base + " --trainer.callbacks+=EarlyStopping", {"--trainer.callbacks", "EarlyStopping"}},
      {base + " --trainer.callbacks.decay 0.9",
       {"--trainer.callbacks.decay", "EMAWeightAveraging"}},
      {base + " --trainer.callbacks+=EMAWeightAveraging --trainer.callbacks.decay 1.5",
       {"--trainer.callbacks.decay", "(0, 1)"}},
  };
  for (const auto& c : cases) {
    const ProgramRun run = timae(dir, c.args);
    EXPECT_NE(run.exit_code, 0) << c.args;
    std::string output = run.output;
    while (!output.empty() && output.back() == '\n')
      output.pop_back();
    EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 0) << c.args << "\n" << run.output;
    EXPECT_THAT(output, HasSubstr("train_timae: ")) << c.args;
    for (const std::string& text : c.expected)
      EXPECT_THAT(output, HasSubstr(text)) << c.args;
    EXPECT_FALSE(fs::exists(dir.path() / "lightning_logs")) << c.args << " left a run folder";
  }
}

}  // namespace
}  // namespace ssmkit
