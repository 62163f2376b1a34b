// Times ssmkit's Ti-MAE epochs as train_timae runs them (the Trainer, AdamW with the one-cycle
// schedule, validation after each epoch), with the seed's hyper-parameters: pretraining on
// ECG5000_TEST with TRAIN as validation, fine-tuning the classifier on TRAIN split 85/15.
// bench/timae_pytorch.py is the same models in plain PyTorch; bench/compare_timae.sh runs both.
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cxxopts.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_flags.h"
#include "epoch_clock.h"
#include "ssmkit/data/class_weights.h"
#include "ssmkit/data/ucr_data_module.h"
#include "ssmkit/metrics/classification_evaluation.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/models/timae_for_pretraining.h"
#include "ssmkit/train/callback.h"
#include "ssmkit/train/device.h"
#include "ssmkit/train/lr_scheduler.h"
#include "ssmkit/train/optimizer_factory.h"
#include "ssmkit/train/seed.h"
#include "ssmkit/train/trainer.h"
#include "ssmkit/util/threads.h"

namespace {

namespace fs = std::filesystem;
using namespace ssmkit;
using bench::EpochClock;
using bench::median_after_warmup;

// The seed's commands: transformer 64 wide, 2 + 2 layers, 4 heads; Mamba-2 one layer each side,
// 8 heads, state 64. Both: decoder width 32, mask ratio 0.75, CLS token, 140 positions.
nlohmann::json model_config(const std::string& model, bool pretraining) {
  nlohmann::json c = {{"input_dim", 1},    {"emb_size", 64}, {"decoder_emb_size", 32},
                      {"cls_embed", true}, {"max_len", 140}, {"mask_ratio", 0.75}};
  if (model == "timae") {
    c.update({{"num_heads", 4},
              {"num_decoder_heads", 4},
              {"num_layers", 2},
              {"num_decoder_layers", 2},
              {"intermediate_dim", 256},
              {"decoder_intermediate_dim", 128}});
  } else {
    c.update({{"num_heads", 8},
              {"num_decoder_heads", 8},
              {"ssm_state_size", 64},
              {"decoder_ssm_state_size", 64}});
  }
  if (!pretraining) c.update({{"num_classes", 5}, {"pooling", "avg"}});
  return c;
}

std::string registry_name(const std::string& model, bool pretraining) {
  return std::string(model == "timae" ? "TiMAE" : "TiMAEMamba") +
         (pretraining ? "ForPretraining" : "");
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options cli("bench_timae_epoch", "Seconds per Ti-MAE pretraining / fine-tuning epoch");
  cli.add_options()("model", "timae or timae_mamba",
                    cxxopts::value<std::string>()->default_value("timae"))(
      "phase", "pretrain or finetune", cxxopts::value<std::string>()->default_value("pretrain"))(
      "data_dir", "folder holding ECG5000_TRAIN.tsv and the TEST file",
      cxxopts::value<std::string>()->default_value("../shared/data/ucr/ECG5000"))(
      "device", "cpu or cuda", cxxopts::value<std::string>()->default_value("cpu"))(
      "step", "trainer step mode: auto, plain, fused, graph",
      cxxopts::value<std::string>()->default_value("auto"))(
      "epochs", "epochs to run (the first is a warm-up)",
      cxxopts::value<int64_t>()->default_value("3"))("threads", "CPU threads",
                                                     cxxopts::value<int>()->default_value("0"))(
      "batch_size", "series per batch", cxxopts::value<int64_t>()->default_value("64"))(
      "profile_epoch",
      "CUDA: bracket this epoch (1-based) with cudaProfilerStart/Stop, for ncu "
      "--profile-from-start off (0: none)",
      cxxopts::value<int64_t>()->default_value("0"))(
      "json", "one JSON line instead of the table", cxxopts::value<bool>()->default_value("false"))(
      "h,help", "print this help");
  const auto args = bench::parse_flags_or_exit(cli, argc, argv);
  const std::string model = args["model"].as<std::string>();
  const bool pretraining = args["phase"].as<std::string>() == "pretrain";
  const int threads = init_threads(args["threads"].as<int>());
  const c10::Device device = train::resolve_device(args["device"].as<std::string>());
  const fs::path dir = args["data_dir"].as<std::string>();
  fs::path test_file = dir / "ECG5000_TEST.tsv";
  if (!fs::exists(test_file)) test_file = dir / "ECG5000_TEST_approx4499_float32.tsv";

  data::UcrDataOptions options;
  options.batch_size = args["batch_size"].as<int64_t>();
  options.pretrain = pretraining;
  options.dataset_path = pretraining ? test_file.string() : (dir / "ECG5000_TRAIN.tsv").string();
  if (pretraining) options.val_dataset_path = (dir / "ECG5000_TRAIN.tsv").string();
  const data::UcrFitData data = data::load_ucr_fit_data(options);

  train::seed_everything(train::kDefaultSeed);
  auto network =
      models::create_model(registry_name(model, pretraining), model_config(model, pretraining));
  auto trainable = train::wrap_module(network);
  train::OptimizerConfig optimizer_config;
  optimizer_config.weight_decay = 0.01;
  auto optimizer = train::make_optimizer(optimizer_config, trainable->named_parameters());
  const auto batches = data::ucr_training_batches(data.train, options, train::kDefaultSeed);
  const auto val_batches = data::ucr_evaluation_batches(data.val, options);
  train::TrainerConfig config;
  config.epochs = args["epochs"].as<int64_t>();
  config.device = device.str();
  config.step = args["step"].as<std::string>();
  config.progress = "off";
  train::LossFn loss = models::masked_reconstruction_loss;
  if (!pretraining) {
    const at::Tensor weight =
        torch::tensor(data::inverse_frequency_weights(data.train.labels, data.num_classes),
                      torch::kFloat32)
            .to(device);
    loss = [weight](const at::Tensor& logits, const at::Tensor& labels) {
      return torch::nn::functional::cross_entropy(
          logits.to(torch::kFloat32), labels,
          torch::nn::functional::CrossEntropyFuncOptions().weight(weight));
    };
  }
  train::OneCycleLr::Options one_cycle;
  one_cycle.total_steps = config.epochs * batches->num_batches();
  train::Trainer trainer(config, *trainable, *optimizer, loss,
                         std::make_unique<train::OneCycleLr>(*optimizer, one_cycle));
  if (!pretraining) {
    trainer.set_evaluation_metrics(
        std::make_shared<metrics::ClassificationEvaluation>(data.num_classes));
  }
  auto clock = std::make_shared<EpochClock>(trainer.device(), args["profile_epoch"].as<int64_t>());
  trainer.add_callback(clock);
  trainer.fit(*batches, val_batches.get());

  const double median = median_after_warmup(clock->seconds);
  double part_median[3];
  for (size_t k = 0; k < 3; ++k) {
    std::vector<double> values;
    for (const auto& p : clock->parts)
      values.push_back(p[k]);
    part_median[k] = median_after_warmup(values);
  }
  std::string epochs_text;
  for (double s : clock->seconds)
    epochs_text += (epochs_text.empty() ? "" : ",") + std::to_string(s);
  if (args["json"].as<bool>()) {
    std::printf(
        "{\"impl\": \"ssmkit\", \"model\": \"%s\", \"phase\": \"%s\", \"device\": \"%s\", "
        "\"threads\": %d, \"batch_size\": %lld, \"epochs\": %lld, \"median_epoch_s\": %.4f, "
        "\"train_s\": %.4f, \"val_s\": %.4f, \"other_s\": %.4f, \"epoch_s\": [%s], \"params\": "
        "%lld}\n",
        model.c_str(), pretraining ? "pretrain" : "finetune", device.str().c_str(), threads,
        static_cast<long long>(options.batch_size), static_cast<long long>(config.epochs), median,
        part_median[0], part_median[1], part_median[2], epochs_text.c_str(),
        static_cast<long long>(trainable->parameter_count()));
  } else {
    std::printf("%-12s %-9s %-6s %7s %6s %15s %8s %8s %8s %8s\n", "model", "phase", "device",
                "threads", "epochs", "median_s/epoch", "steps_s", "val_s", "other_s", "params");
    std::printf("%-12s %-9s %-6s %7d %6lld %15.3f %8.3f %8.3f %8.3f %8lld\n", model.c_str(),
                pretraining ? "pretrain" : "finetune", device.str().c_str(), threads,
                static_cast<long long>(config.epochs), median, part_median[0], part_median[1],
                part_median[2], static_cast<long long>(trainable->parameter_count()));
  }
  return 0;
}
