// The Vision Mamba configuration and its translation into data, model and training sections.
#include "ssmkit/cli/vision_mamba_program.h"

#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "ssmkit/cli/training_program.h"
#include "ssmkit/io/config.h"
#include "ssmkit/io/error.h"
#include "ssmkit/models/vision_mamba.h"
#include "ssmkit/report/seed_checkpoints.h"

#ifndef SSMKIT_SOURCE_CONFIG_DIR
#define SSMKIT_SOURCE_CONFIG_DIR ""
#endif

namespace ssmkit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kConfigFolder = "vision_mamba";
// Parameters without weight decay, by name: biases, the positions and class token (Vim's
// no_weight_decay set), the SSM's A_log and D, and the mixing gates. LayerNorm gains are named
// "weight" like the linear layers' and keep the decay.
const char* const kNoWeightDecay[] = {"bias", "positions", "class_token", "A_log", "D", "gate"};

std::vector<fs::path> config_folders() {
  std::vector<fs::path> folders;
  if (const char* env = std::getenv("SSMKIT_CONFIG_DIR")) folders.emplace_back(env);
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (!error) folders.push_back(exe.parent_path().parent_path() / "share" / "ssmkit" / "configs");
  if (std::string(SSMKIT_SOURCE_CONFIG_DIR).size() > 0)
    folders.emplace_back(SSMKIT_SOURCE_CONFIG_DIR);
  return folders;
}

std::string section_string(const json& config, const char* section, const char* key) {
  return config.at(section).at(key).get<std::string>();
}

}  // namespace

json vision_mamba_config_defaults() {
  // The preset's dimensions stay 0 ("from the size"), so that --model.size alone resizes.
  json model = models::VisionMambaOptions();
  for (const char* key : {"embed_dim", "depth", "num_heads", "d_state", "d_conv"})
    model[key] = 0;
  return {{"model", model},
          {"training",
           {{"optimizer", "adamw"},
            {"lr", 1e-3},
            {"weight_decay", 0.05},
            {"momentum", 0.9},
            {"nesterov", false},
            {"batch_size", 128},
            {"epochs", 30},
            {"warmup_epochs", 0},
            {"scheduler", "cosine"},
            {"min_lr", 1e-5},
            {"step_size", 10},
            {"gamma", 0.1},
            {"plateau_factor", 0.5},
            {"plateau_patience", 3},
            {"label_smoothing", 0.0},
            {"grad_clip", 1.0},
            {"mixed_precision", true},
            {"early_stopping_patience", 0},
            {"seed", 42},
            {"device", "auto"},
            {"step_mode", "auto"}}},
          {"data",
           {{"dataset", "cifar10"},
            {"data_dir", ""},
            {"label_mode", "fine"},
            {"val_fraction", 0.1},
            {"random_crop", true},
            {"crop_padding", 4},
            {"horizontal_flip", true},
            {"normalize_mean", {0.4914, 0.4822, 0.4465}},
            {"normalize_std", {0.2470, 0.2435, 0.2616}}}},
          {"logging",
           {{"experiment_name", ""},
            {"log_dir", "logs"},
            {"checkpoint_dir", "checkpoints"},
            {"tensorboard_dir", "tensorboard"},
            {"save_every", 5},
            {"log_every_steps", 10},
            {"plots", true},
            {"progress", "auto"}}},
          {"resume", ""}};
}

std::string vision_mamba_config_path(const std::string& name_or_path) {
  const fs::path given(name_or_path);
  const std::string ext = given.extension().string();
  if (name_or_path.find('/') != std::string::npos || ext == ".json" || ext == ".yaml" ||
      ext == ".yml") {
    if (!fs::exists(given)) throw InputError("--config: " + name_or_path + ": no such file");
    return name_or_path;
  }
  std::string known;
  for (const fs::path& folder : config_folders()) {
    const fs::path candidate = folder / kConfigFolder / (name_or_path + ".json");
    if (fs::exists(candidate)) return candidate.string();
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(folder / kConfigFolder, error)) {
      if (entry.path().extension() == ".json" &&
          known.find(entry.path().stem().string()) == std::string::npos) {
        known += (known.empty() ? "" : ", ") + entry.path().stem().string();
      }
    }
  }
  throw InputError("--config: '" + name_or_path + "' is neither a file nor a shipped config (" +
                   (known.empty() ? std::string("none found; set SSMKIT_CONFIG_DIR") : known) +
                   ")");
}

std::string experiment_name(const json& config) {
  const std::string name = section_string(config, "logging", "experiment_name");
  return name.empty() ? "vision_mamba_" + section_string(config, "data", "dataset") : name;
}

json vision_mamba_session_config(const json& config) {
  const json& t = config.at("training");
  const json& logging = config.at("logging");
  json session = training_config_defaults();
  session["run"]["seed"] = t.at("seed");
  session["run"]["output_dir"] = logging.at("log_dir");
  session["run"]["project_name"] = experiment_name(config);
  const std::string resume = config.at("resume").get<std::string>();
  session["run"]["resume"] = resume.empty() ? "" : run_checkpoint_of(resume, config);

  json& optimizer = session["optimizer"];
  optimizer["name"] = t.at("optimizer");
  optimizer["lr"] = t.at("lr");
  optimizer["weight_decay"] = t.at("weight_decay");
  if (t.at("optimizer") == "sgd") {
    optimizer["momentum"] = t.at("momentum");
    optimizer["nesterov"] = t.at("nesterov");
  }
  optimizer["no_weight_decay"] =
      std::vector<std::string>(std::begin(kNoWeightDecay), std::end(kNoWeightDecay));

  json& scheduler = session["scheduler"];
  const std::string schedule = t.at("scheduler").get<std::string>();
  const int64_t warmup_epochs = t.at("warmup_epochs").get<int64_t>();
  if (warmup_epochs < 0)
    throw InputError("--training.warmup_epochs: must be >= 0", "training.warmup_epochs");
  if (schedule == "cosine") {
    scheduler["name"] = "cosine";
    scheduler["warmup_epochs"] = warmup_epochs;
    scheduler["min_lr"] = t.at("min_lr");
  } else if (schedule == "step" || schedule == "plateau") {
    if (warmup_epochs > 0) {
      throw InputError(
          "--training.warmup_epochs: warm-up comes with the cosine scheduler only, "
          "not with '" +
              schedule + "'",
          "training.warmup_epochs");
    }
    scheduler["name"] = schedule;
    scheduler["step_size"] = t.at("step_size");
    scheduler["gamma"] = t.at("gamma");
    scheduler["factor"] = t.at("plateau_factor");
    scheduler["patience"] = t.at("plateau_patience");
    scheduler["monitor"] = "val_accuracy";
    scheduler["mode"] = "max";
    scheduler["min_lr"] = t.at("min_lr");
  } else {
    throw InputError("--training.scheduler: '" + schedule +
                         "' is unknown, expected cosine, step "
                         "or plateau",
                     "training.scheduler");
  }

  json& trainer = session["trainer"];
  trainer["epochs"] = t.at("epochs");
  trainer["device"] = t.at("device");
  trainer["grad_clip_norm"] = t.at("grad_clip");
  trainer["mixed_precision"] = t.at("mixed_precision");
  trainer["step"] = t.at("step_mode");
  trainer["early_stopping"]["monitor"] = "val_accuracy";
  trainer["early_stopping"]["mode"] = "max";
  trainer["early_stopping"]["patience"] = t.at("early_stopping_patience");
  trainer["checkpoint_every"] = logging.at("save_every");
  trainer["progress"] = logging.at("progress");
  session["vision_mamba"] = config;
  return session;
}

data::ImageClassificationData load_vision_mamba_data(const json& config) {
  const json& d = config.at("data");
  data::ImageDataOptions options;
  options.dataset = d.at("dataset").get<std::string>();
  options.data_dir = d.at("data_dir").get<std::string>();
  options.label_mode = d.at("label_mode").get<std::string>();
  options.val_fraction = d.at("val_fraction").get<double>();
  options.seed = config.at("training").at("seed").get<uint64_t>();
  return data::load_image_classification_data(options);
}

std::unique_ptr<data::ImageBatchSource> vision_mamba_batches(const json& config,
                                                             const data::ImageSplit& split,
                                                             bool training) {
  const json& d = config.at("data");
  data::ImageBatchOptions options;
  options.batches.batch_size = config.at("training").at("batch_size").get<int64_t>();
  if (options.batches.batch_size < 1) {
    throw InputError("--training.batch_size: must be positive", "training.batch_size");
  }
  options.batches.shuffle = training;
  options.batches.drop_last = training && split.size() > options.batches.batch_size;
  options.batches.seed = config.at("training").at("seed").get<uint64_t>();
  options.mean = d.at("normalize_mean").get<std::vector<double>>();
  options.std = d.at("normalize_std").get<std::vector<double>>();
  if (training) {
    options.augmentation.crop_padding =
        d.at("random_crop").get<bool>() ? d.at("crop_padding").get<int64_t>() : 0;
    options.augmentation.horizontal_flip = d.at("horizontal_flip").get<bool>();
  }
  return std::make_unique<data::ImageBatchSource>(split.images, split.labels, options);
}

json model_config_for_data(const json& model_section, const data::ImageClassificationData& data) {
  json model = model_section;
  model["image_size"] = data.image_size;
  model["in_channels"] = data.channels;
  model["num_classes"] = data.num_classes();
  return models::VisionMambaOptions(models::vision_mamba_options_from_json(model));
}

train::LossFn classification_loss(double label_smoothing) {
  if (!(label_smoothing >= 0.0 && label_smoothing < 1.0)) {
    throw InputError("--training.label_smoothing: must be in [0, 1)", "training.label_smoothing");
  }
  return [label_smoothing](const at::Tensor& logits, const at::Tensor& labels) {
    return torch::nn::functional::cross_entropy(
        logits.to(torch::kFloat32), labels,
        torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(label_smoothing));
  };
}

std::string run_checkpoint_of(const std::string& path, const json& config) {
  const fs::path given(path);
  const std::string name = given.filename().string();
  const fs::path run_checkpoints = fs::path(section_string(config, "logging", "log_dir")) /
                                   experiment_name(config) / "checkpoints";
  std::smatch match;
  std::string mapped;
  if (name == report::kSeedBestCheckpoint) mapped = "best.pt";
  if (name == report::kSeedFinalCheckpoint) mapped = "last.pt";
  if (std::regex_match(name, match, std::regex(R"(checkpoint_epoch_(\d+)\.pth)"))) {
    char text[32];
    std::snprintf(text, sizeof(text), "epoch_%04lld.pt", std::stoll(match[1].str()));
    mapped = text;
  }
  if (mapped.empty()) return path;
  const fs::path run_file = run_checkpoints / mapped;
  if (!fs::exists(path)) throw InputError("--resume: " + path + ": no such checkpoint");
  if (!fs::exists(run_file)) {
    throw InputError("--resume: " + path + " has no run folder beside it (" + run_file.string() +
                     " is missing; --logging.log_dir and --logging.experiment_name must be those "
                     "of the run)");
  }
  return run_file.string();
}

}  // namespace ssmkit::cli
