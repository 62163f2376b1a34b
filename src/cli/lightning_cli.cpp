// Lightning-style command lines and configs.
#include "ssmkit/cli/lightning_cli.h"

#include <algorithm>
#include <filesystem>
#include <string>

#include "ssmkit/cli/training_program.h"
#include "ssmkit/io/error.h"
#include "ssmkit/train/seed.h"

namespace ssmkit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Lightning's Trainer arguments that ssmkit accepts only at their defaults: their values as
// Lightning writes them into config.yaml.
json inert_trainer_arguments() {
  return {{"strategy", "auto"},
          {"devices", "auto"},
          {"num_nodes", 1},
          {"logger", nullptr},
          {"fast_dev_run", false},
          {"max_steps", -1},
          {"min_epochs", nullptr},
          {"min_steps", nullptr},
          {"max_time", nullptr},
          {"limit_train_batches", nullptr},
          {"limit_val_batches", nullptr},
          {"limit_test_batches", nullptr},
          {"limit_predict_batches", nullptr},
          {"overfit_batches", 0.0},
          {"val_check_interval", nullptr},
          {"check_val_every_n_epoch", 1},
          {"num_sanity_val_steps", nullptr},
          {"enable_checkpointing", nullptr},
          {"enable_model_summary", nullptr},
          {"accumulate_grad_batches", 1},
          {"gradient_clip_algorithm", nullptr},
          {"deterministic", nullptr},
          {"benchmark", nullptr},
          {"inference_mode", true},
          {"use_distributed_sampler", true},
          {"profiler", nullptr},
          {"detect_anomaly", false},
          {"barebones", false},
          {"plugins", nullptr},
          {"sync_batchnorm", false},
          {"reload_dataloaders_every_n_epochs", 0}};
}

// A default-valued argument may also be written as null or, for devices, 1 / [0].
bool at_default(const std::string& key, const json& value, const json& fallback) {
  if (value == fallback || value.is_null()) return true;
  if (key == "devices") return value == 1 || value == json::array({0}) || value == "1";
  if (key == "strategy") return value == "ddp" ? false : value == "auto";
  return false;
}

std::string last_dotted_part(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

void normalize_class_paths(json& node) {
  if (node.is_object()) {
    for (auto& item : node.items()) {
      if (item.key() == "class_path" && item.value().is_string()) {
        item.value() = last_dotted_part(item.value().get<std::string>());
      } else {
        normalize_class_paths(item.value());
      }
    }
  } else if (node.is_array()) {
    for (auto& item : node)
      normalize_class_paths(item);
  }
}

}  // namespace

json lightning_trainer_defaults() {
  json trainer = inert_trainer_arguments();
  trainer["accelerator"] = "auto";
  trainer["precision"] = nullptr;
  trainer["max_epochs"] = nullptr;  // Lightning: 1000 when neither epochs nor steps are given
  trainer["log_every_n_steps"] = nullptr;
  trainer["callbacks"] = json::array();
  trainer["logging_interval"] = nullptr;
  trainer["ema_decay"] = nullptr;
  trainer["default_root_dir"] = nullptr;
  trainer["gradient_clip_val"] = nullptr;
  trainer["enable_progress_bar"] = nullptr;
  // ssmkit's own: end the run after this epoch with the schedule of max_epochs, to be continued
  // with --ckpt_path (time-limited jobs); null: run to max_epochs.
  trainer["pause_after_epoch"] = nullptr;
  return trainer;
}

std::vector<ConfigFlag> lightning_trainer_flags() {
  return {{"trainer.callbacks.logging_interval", "trainer.logging_interval",
           "LearningRateMonitor: log the rate per step or per epoch"},
          {"trainer.callbacks.decay", "trainer.ema_decay",
           "EMAWeightAveraging: decay of the weights' moving average (default 0.999)"}};
}

void normalize_lightning_config(json& config) {
  normalize_class_paths(config);
  json& trainer = config["trainer"];
  json names = json::array();
  const json callbacks = trainer["callbacks"];
  for (const json& callback : callbacks) {
    std::string name;
    if (callback.is_string()) {
      name = last_dotted_part(callback.get<std::string>());
    } else if (callback.is_object() && callback.contains("class_path")) {
      name = callback["class_path"].get<std::string>();
      const json args = callback.value("init_args", json::object());
      if (args.contains("logging_interval") && !args["logging_interval"].is_null()) {
        trainer["logging_interval"] = args["logging_interval"];
      }
      if (args.contains("decay") && !args["decay"].is_null()) trainer["ema_decay"] = args["decay"];
    }
    if (name != kLearningRateMonitor && name != kEmaWeightAveraging) {
      throw InputError("--trainer.callbacks: '" + (name.empty() ? callback.dump() : name) +
                       "' is not a callback ssmkit provides; known: " + kLearningRateMonitor +
                       ", " + kEmaWeightAveraging +
                       " (the progress bar, checkpoints, metrics.csv and TensorBoard are "
                       "always on)");
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  trainer["callbacks"] = names;
  json& decay = trainer["ema_decay"];
  const bool averaging = has_lightning_callback(trainer, kEmaWeightAveraging);
  if (!decay.is_null() && !averaging) {
    throw InputError("--trainer.callbacks.decay: set without --trainer.callbacks+=" +
                     std::string(kEmaWeightAveraging));
  }
  if (averaging) {
    if (decay.is_null()) decay = kDefaultEmaDecay;
    if (!decay.is_number() || !(decay.get<double>() > 0.0 && decay.get<double>() < 1.0)) {
      throw InputError("--trainer.callbacks.decay: must be a number in (0, 1), got " +
                       decay.dump());
    }
  }
  const json& interval = trainer["logging_interval"];
  if (!interval.is_null() && interval != "step" && interval != "epoch") {
    throw InputError("--trainer.callbacks.logging_interval: expected step or epoch, got " +
                     interval.dump());
  }
  const json inert = inert_trainer_arguments();
  for (const auto& item : inert.items()) {
    if (!at_default(item.key(), trainer[item.key()], item.value())) {
      throw InputError("--trainer." + item.key() + ": " + trainer[item.key()].dump() +
                       " is not supported (only the default " + item.value().dump() +
                       "); several devices train through ssmkit_run");
    }
  }
}

bool has_lightning_callback(const json& trainer, const std::string& name) {
  const json& callbacks = trainer.at("callbacks");
  return std::find(callbacks.begin(), callbacks.end(), json(name)) != callbacks.end();
}

uint64_t lightning_seed(const json& config) {
  const json& seed = config.at("seed_everything");
  if (seed.is_number_integer()) return seed.get<uint64_t>();
  return train::kDefaultSeed;
}

std::string lightning_device(const json& trainer) {
  const std::string accelerator = trainer.value("accelerator", json("auto")).is_string()
                                      ? trainer.value("accelerator", std::string("auto"))
                                      : "auto";
  if (accelerator == "cpu") return "cpu";
  if (accelerator == "gpu" || accelerator == "cuda") return "cuda";
  if (accelerator == "auto") return "auto";
  throw InputError("--trainer.accelerator: '" + accelerator +
                   "' is unknown; expected cpu, gpu, cuda or auto");
}

std::string lightning_logs_folder(const json& config) {
  const json& root = config.at("trainer").at("default_root_dir");
  return (fs::path(root.is_string() ? root.get<std::string>() : ".") / "lightning_logs").string();
}

std::string next_lightning_version(const std::string& logs_folder) {
  int64_t next = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(logs_folder, error)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind("version_", 0) == 0) {
      try {
        next = std::max<int64_t>(next, std::stoll(name.substr(8)) + 1);
      } catch (const std::exception&) {
        // Not a version folder of ours.
      }
    }
  }
  return "version_" + std::to_string(next);
}

json lightning_training_config(const json& config, double lr, double weight_decay,
                               const std::string& version_name) {
  const json& trainer = config.at("trainer");
  json out = training_config_defaults();
  out["run"]["seed"] = lightning_seed(config);
  out["run"]["output_dir"] = lightning_logs_folder(config);
  out["run"]["project_name"] = version_name;
  const json& resume = config.at("ckpt_path");
  out["run"]["resume"] = resume.is_string() ? resume.get<std::string>() : "";
  out["optimizer"]["name"] = "adamw";
  out["optimizer"]["lr"] = lr;
  out["optimizer"]["weight_decay"] = weight_decay;
  out["scheduler"]["name"] = "one_cycle";
  json& t = out["trainer"];
  t["epochs"] = trainer.at("max_epochs").is_null() ? 1000 : trainer.at("max_epochs").get<int64_t>();
  t["device"] = lightning_device(trainer);
  const json& precision = trainer.at("precision");
  const std::string p = precision.is_null() ? "32-true"
                                            : (precision.is_string() ? precision.get<std::string>()
                                                                     : precision.dump());
  if (p == "bf16-mixed" || p == "bf16") {
    t["mixed_precision"] = true;
  } else if (p != "32-true" && p != "32") {
    throw InputError("--trainer.precision: '" + p +
                     "' is not supported; use 32-true or bf16-mixed");
  }
  const json& clip = trainer.at("gradient_clip_val");
  if (!clip.is_null()) t["grad_clip_norm"] = clip.get<double>();
  const json& bar = trainer.at("enable_progress_bar");
  t["progress"] = (bar.is_boolean() && !bar.get<bool>()) ? "off" : "auto";
  t["early_stopping"]["patience"] = 0;
  if (has_lightning_callback(trainer, kEmaWeightAveraging))
    t["ema_decay"] = trainer.at("ema_decay");
  return out;
}

}  // namespace ssmkit::cli
