// Times ssmkit's Vision Mamba training as train_vision_mamba --config fashion_mnist runs it (the
// Trainer, AdamW with weight-decay groups, label smoothing, clipping, bf16 autocast on CUDA, the
// batch source's crop and flip): `steps` optimizer steps per epoch over the first steps * batch
// training images, `epochs` epochs (the first a warm-up), median seconds per epoch and per step.
// A full epoch is the step time times the steps of an epoch (extrapolated, and said so).
// bench/vision_mamba_pytorch.py is the same model in plain PyTorch; bench/compare_vision_mamba.py
// runs both and prints the ratio.
#include <torch/torch.h>

#include <cstdio>
#include <cxxopts.hpp>
#include <string>

#include "bench_flags.h"
#include "epoch_clock.h"
#include "ssmkit/cli/vision_mamba_program.h"
#include "ssmkit/io/config.h"
#include "ssmkit/models/registry.h"
#include "ssmkit/train/device.h"
#include "ssmkit/train/optimizer_factory.h"
#include "ssmkit/train/seed.h"
#include "ssmkit/train/trainer.h"
#include "ssmkit/util/threads.h"

using namespace ssmkit;

int main(int argc, char** argv) {
  cxxopts::Options options("bench_vision_mamba_epoch",
                           "Seconds per Vision Mamba training step (fashion_mnist config)");
  options.add_options()(
      "data_dir", "Fashion-MNIST folder",
      cxxopts::value<std::string>()->default_value("/usr/share/datasets/fashion-mnist"))(
      "device", "cpu or cuda", cxxopts::value<std::string>()->default_value("cpu"))(
      "step", "trainer step mode: auto, plain, fused, graph",
      cxxopts::value<std::string>()->default_value("auto"))(
      "size", "model size preset", cxxopts::value<std::string>()->default_value("small"))(
      "steps", "optimizer steps per timed epoch", cxxopts::value<int64_t>()->default_value("20"))(
      "epochs", "epochs (the first is a warm-up)", cxxopts::value<int64_t>()->default_value("3"))(
      "batch_size", "images per batch", cxxopts::value<int64_t>()->default_value("256"))(
      "threads", "CPU threads", cxxopts::value<int>()->default_value("0"))(
      "json", "one JSON line instead of the table", cxxopts::value<bool>()->default_value("false"))(
      "h,help", "print this help");
  const auto args = bench::parse_flags_or_exit(options, argc, argv);
  const int threads = init_threads(args["threads"].as<int>());
  const c10::Device device = train::resolve_device(args["device"].as<std::string>());
  const int64_t steps = args["steps"].as<int64_t>();
  const int64_t batch_size = args["batch_size"].as<int64_t>();

  nlohmann::json config = cli::vision_mamba_config_defaults();
  io::merge_config(config, io::read_config_file(cli::vision_mamba_config_path("fashion_mnist")),
                   "fashion_mnist");
  config["data"]["data_dir"] = args["data_dir"].as<std::string>();
  config["data"]["val_fraction"] = 0.0;
  config["model"]["size"] = args["size"].as<std::string>();
  config["training"]["batch_size"] = batch_size;
  config["training"]["device"] = device.str();
  config["training"]["step_mode"] = args["step"].as<std::string>();
  config["logging"]["progress"] = "off";
  data::ImageClassificationData data = cli::load_vision_mamba_data(config);
  config["model"] = cli::model_config_for_data(config["model"], data);
  const int64_t full_epoch_steps = data.train.size() / batch_size;
  data.train.images = data.train.images.narrow(0, 0, steps * batch_size);
  data.train.labels = data.train.labels.narrow(0, 0, steps * batch_size);
  const auto batches = cli::vision_mamba_batches(config, data.train, true);

  train::seed_everything(train::kDefaultSeed);
  auto trainable =
      train::wrap_module(models::create_model(cli::kVisionMambaModel, config["model"]));
  nlohmann::json session = cli::vision_mamba_session_config(config);
  auto optimizer = train::make_optimizer(train::OptimizerConfig::from_json(session["optimizer"]),
                                         trainable->named_parameters());
  train::TrainerConfig trainer_config = train::TrainerConfig::from_json(session["trainer"]);
  trainer_config.epochs = args["epochs"].as<int64_t>();
  trainer_config.checkpoint_every = 0;
  train::Trainer trainer(trainer_config, *trainable, *optimizer,
                         cli::classification_loss(config["training"]["label_smoothing"]));
  auto clock = std::make_shared<bench::EpochClock>(trainer.device());
  trainer.add_callback(clock);
  trainer.fit(*batches);

  const double median = bench::median_after_warmup(clock->seconds);
  const double step_s = median / static_cast<double>(steps);
  if (args["json"].as<bool>()) {
    std::printf(
        "{\"impl\": \"ssmkit\", \"size\": \"%s\", \"device\": \"%s\", \"threads\": %d, "
        "\"batch_size\": %lld, \"steps\": %lld, \"median_epoch_s\": %.4f, \"step_s\": %.5f, "
        "\"full_epoch_steps\": %lld, \"step_mode\": \"%s\", \"params\": %lld}\n",
        args["size"].as<std::string>().c_str(), device.str().c_str(), threads,
        static_cast<long long>(batch_size), static_cast<long long>(steps), median, step_s,
        static_cast<long long>(full_epoch_steps),
        train::step_mode_name(trainer.step_mode()).c_str(),
        static_cast<long long>(trainable->parameter_count()));
  } else {
    std::printf("%-6s %-6s %7s %6s %10s %14s %10s\n", "size", "device", "threads", "batch",
                "ms/step", "s/epoch (extr)", "params");
    std::printf("%-6s %-6s %7d %6lld %10.1f %14.1f %10lld\n",
                args["size"].as<std::string>().c_str(), device.str().c_str(), threads,
                static_cast<long long>(batch_size), step_s * 1e3,
                step_s * static_cast<double>(full_epoch_steps),
                static_cast<long long>(trainable->parameter_count()));
  }
  return 0;
}
