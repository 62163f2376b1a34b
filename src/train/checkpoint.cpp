// Checkpoint files: a LibTorch archive with nested archives for the model and the optimizer, JSON
// strings for the configuration and the trainer state, and byte tensors for generator states.
#include "ssmkit/train/checkpoint.h"

#include <ATen/Context.h>
#include <ATen/core/Generator.h>
#include <torch/cuda.h>
#include <torch/serialize/archive.h>
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <mutex>

#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/error.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::train {
namespace {

constexpr const char* kFormatKey = "format";
constexpr const char* kFormatName = "ssmkit-checkpoint";
constexpr const char* kVersionKey = "format_version";
// Bump when the layout changes; readers refuse newer versions.
constexpr int64_t kFormatVersion = 1;
constexpr const char* kModelKey = "model";
constexpr const char* kOptimizerKey = "optimizer";
constexpr const char* kStateKey = "state_json";
constexpr const char* kConfigKey = "config_json";
constexpr const char* kCpuRngKey = "rng_cpu";
constexpr const char* kCudaRngPrefix = "rng_cuda_";
// CheckpointState::tensors are stored as "tensor_<index>", their names in the state JSON.
constexpr const char* kTensorPrefix = "tensor_";
constexpr const char* kTensorNamesKey = "tensors";

std::string read_string(torch::serialize::InputArchive& archive, const char* key,
                        const std::string& path) {
  c10::IValue value;
  if (!archive.try_read(key, value) || !value.isString()) {
    throw InputError(path + ": checkpoint has no '" + key + "' entry (incomplete file?)");
  }
  return value.toStringRef();
}

nlohmann::json parse_json(const std::string& text, const char* key, const std::string& path) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) throw InputError(path + ": checkpoint entry '" + key + "' is corrupt");
  return value;
}

// Generators are shared handles: a copy reads and writes the default generator itself.
at::Tensor generator_state(at::Generator generator) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_generator_state(at::Generator generator, const at::Tensor& state) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state.cpu());
}

int64_t cuda_generator_count() {
  return torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
}

at::Generator cuda_generator(int64_t index) {
  return at::globalContext().defaultGenerator(
      c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index)));
}

void open_archive(torch::serialize::InputArchive& archive, const std::string& path,
                  const c10::Device& device) {
  if (!std::filesystem::exists(path)) throw InputError(path + ": checkpoint file does not exist");
  if (std::filesystem::is_directory(path)) {
    throw InputError(path + ": is a folder, expected a checkpoint file");
  }
  try {
    archive.load_from(path, device);
  } catch (const c10::Error& e) {
    throw InputError(path + ": cannot read checkpoint, the file is truncated or corrupt (" +
                     first_line_of(e) + ")");
  }
  c10::IValue format;
  if (!archive.try_read(kFormatKey, format) || !format.isString() ||
      format.toStringRef() != kFormatName) {
    throw InputError(path + ": not an ssmkit checkpoint (no '" + kFormatKey + "' entry)");
  }
  c10::IValue version;
  if (!archive.try_read(kVersionKey, version) || !version.isInt() ||
      version.toInt() > kFormatVersion) {
    throw InputError(path + ": checkpoint format version " +
                     (version.isInt() ? std::to_string(version.toInt()) : "?") +
                     " is newer than this program reads (" + std::to_string(kFormatVersion) + ")");
  }
}

CheckpointState read_state(torch::serialize::InputArchive& archive, const std::string& path) {
  CheckpointState state;
  const auto saved = parse_json(read_string(archive, kStateKey, path), kStateKey, path);
  try {
    state.epoch = saved.at("epoch").get<int64_t>();
    state.global_step = saved.at("global_step").get<int64_t>();
    state.trainer = saved.at("trainer");
    const std::vector<std::string> names = saved.value(kTensorNamesKey, std::vector<std::string>{});
    for (size_t i = 0; i < names.size(); ++i) {
      c10::IValue value;
      if (!archive.try_read(kTensorPrefix + std::to_string(i), value) || !value.isTensor()) {
        throw InputError(path + ": checkpoint lists tensor '" + names[i] +
                         "' but does not hold it (incomplete or corrupt file?)");
      }
      const at::Tensor tensor = value.toTensor();
      state.tensors.emplace_back(names[i], tensor);
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": checkpoint entry '" + kStateKey + "' is incomplete (" + e.what() +
                     ")");
  }
  state.config = parse_json(read_string(archive, kConfigKey, path), kConfigKey, path);
  return state;
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainableModel& model,
                     const torch::optim::Optimizer* optimizer, const CheckpointState& state) {
  torch::serialize::OutputArchive archive;
  archive.write(kFormatKey, c10::IValue(std::string(kFormatName)));
  archive.write(kVersionKey, c10::IValue(kFormatVersion));

  torch::serialize::OutputArchive model_archive(archive.compilation_unit());
  model.save(model_archive);
  archive.write(kModelKey, model_archive);
  if (optimizer != nullptr) {
    torch::serialize::OutputArchive optimizer_archive(archive.compilation_unit());
    optimizer->save(optimizer_archive);
    archive.write(kOptimizerKey, optimizer_archive);
  }
  nlohmann::json saved = {
      {"epoch", state.epoch}, {"global_step", state.global_step}, {"trainer", state.trainer}};
  if (!state.tensors.empty()) {
    std::vector<std::string> names;
    for (size_t i = 0; i < state.tensors.size(); ++i) {
      names.push_back(state.tensors[i].first);
      archive.write(kTensorPrefix + std::to_string(i), state.tensors[i].second);
    }
    saved[kTensorNamesKey] = names;
  }
  archive.write(kStateKey, c10::IValue(saved.dump()));
  archive.write(kConfigKey, c10::IValue(state.config.dump()));

  archive.write(kCpuRngKey, generator_state(at::detail::getDefaultCPUGenerator()));
  for (int64_t i = 0; i < cuda_generator_count(); ++i) {
    archive.write(kCudaRngPrefix + std::to_string(i), generator_state(cuda_generator(i)));
  }

  AtomicFileWriter writer(path);
  writer.release_handle();
  try {
    archive.save_to(writer.temp_path());
  } catch (const c10::Error& e) {
    throw InputError(path + ": cannot write checkpoint (" + first_line_of(e) + ")");
  }
  writer.commit();
}

CheckpointState load_checkpoint(const std::string& path, TrainableModel& model,
                                torch::optim::Optimizer* optimizer, const c10::Device& device,
                                bool restore_rng) {
  torch::serialize::InputArchive archive;
  open_archive(archive, path, device);
  CheckpointState state = read_state(archive, path);

  // Module::load silently adopts a saved tensor of another shape, so compare shapes around it.
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& item : model.named_parameters())
    shapes[item.key()] = item.value().sizes().vec();
  try {
    torch::serialize::InputArchive model_archive;
    archive.read(kModelKey, model_archive);
    model.load(model_archive);
  } catch (const c10::Error& e) {
    throw InputError(path + ": checkpoint does not match this model (" + first_line_of(e) + ")");
  }
  for (const auto& item : model.named_parameters()) {
    const auto& expected = shapes[item.key()];
    if (item.value().sizes().vec() != expected) {
      throw InputError(path + ": parameter '" + item.key() + "' has shape " +
                       shape_string(item.value().sizes()) + " in the checkpoint, the model has " +
                       shape_string(expected) + " (written for another model configuration?)");
    }
  }

  if (optimizer != nullptr) {
    torch::serialize::InputArchive optimizer_archive;
    if (!archive.try_read(kOptimizerKey, optimizer_archive)) {
      throw InputError(path + ": checkpoint holds no optimizer state (a weights-only export?)");
    }
    try {
      optimizer->load(optimizer_archive);
    } catch (const c10::Error& e) {
      throw InputError(path + ": optimizer state does not match this optimizer (" +
                       first_line_of(e) + ")");
    }
  }

  if (restore_rng) {
    at::Tensor cpu_state;
    if (archive.try_read(kCpuRngKey, cpu_state)) {
      set_generator_state(at::detail::getDefaultCPUGenerator(), cpu_state);
    }
    for (int64_t i = 0; i < cuda_generator_count(); ++i) {
      at::Tensor cuda_state;
      if (archive.try_read(kCudaRngPrefix + std::to_string(i), cuda_state)) {
        set_generator_state(cuda_generator(i), cuda_state);
      }
    }
  }
  return state;
}

CheckpointState read_checkpoint_state(const std::string& path) {
  torch::serialize::InputArchive archive;
  open_archive(archive, path, c10::Device(c10::kCPU));
  return read_state(archive, path);
}

namespace {

// The nested archive of `names[0..n-1]` under `archive` (each a child module's name).
bool open_nested(torch::serialize::InputArchive& archive, const std::vector<std::string>& names,
                 size_t count, torch::serialize::InputArchive& out) {
  torch::serialize::InputArchive current;
  torch::serialize::InputArchive* from = &archive;
  for (size_t i = 0; i < count; ++i) {
    torch::serialize::InputArchive next;
    if (!from->try_read(names[i], next)) return false;
    current = std::move(next);
    from = &current;
  }
  out = std::move(*from);
  return true;
}

std::vector<std::string> split_name(const std::string& dotted) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot = dotted.find('.'); dot != std::string::npos; dot = dotted.find('.', start)) {
    parts.push_back(dotted.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(dotted.substr(start));
  return parts;
}

}  // namespace

void load_submodule_weights(const std::string& path, const std::string& submodule,
                            torch::nn::Module& target) {
  torch::serialize::InputArchive archive;
  open_archive(archive, path, c10::Device(c10::kCPU));
  torch::serialize::InputArchive model_archive;
  if (!archive.try_read(kModelKey, model_archive)) {
    throw InputError(path + ": checkpoint has no model weights");
  }
  const CheckpointState state = read_state(archive, path);
  std::map<std::string, at::Tensor> averages(state.tensors.begin(), state.tensors.end());
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& item : target.named_parameters(/*recurse=*/true))
    tensors.emplace_back(item.key(), item.value());
  const size_t parameter_count = tensors.size();
  for (const auto& item : target.named_buffers(/*recurse=*/true))
    tensors.emplace_back(item.key(), item.value());
  // Everything is checked before anything is copied: a mismatch leaves the model untouched.
  std::vector<at::Tensor> values;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const std::string full_name = submodule + "." + tensors[i].first;
    const std::vector<std::string> parts = split_name(full_name);
    torch::serialize::InputArchive holder;
    at::Tensor value;
    const auto average = averages.find(full_name);
    if (i < parameter_count && average != averages.end()) {
      value = average->second;
    } else if (!open_nested(model_archive, parts, parts.size() - 1, holder) ||
               !holder.try_read(parts.back(), value, /*is_buffer=*/i >= parameter_count)) {
      throw InputError(path + ": the checkpoint has no tensor '" + full_name +
                       "' (a model of another kind or shape wrote it)");
    }
    if (value.sizes() != tensors[i].second.sizes()) {
      throw InputError(path + ": tensor '" + full_name + "' has shape " +
                       shape_string(value.sizes()) + ", this model's is " +
                       shape_string(tensors[i].second.sizes()) +
                       " (the checkpoint was written with other model settings)");
    }
    values.push_back(value);
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < tensors.size(); ++i)
    tensors[i].second.copy_(values[i]);
}

bool load_weight_average(const CheckpointState& state, const std::string& path,
                         torch::nn::Module& model) {
  if (state.tensors.empty()) return false;
  std::map<std::string, at::Tensor> parameters;
  for (const auto& item : model.named_parameters(/*recurse=*/true))
    parameters.emplace(item.key(), item.value());
  // Everything is checked before anything is copied.
  for (const auto& [name, average] : state.tensors) {
    const auto parameter = parameters.find(name);
    if (parameter == parameters.end() || parameter->second.sizes() != average.sizes()) {
      throw InputError(path + ": its weight average has '" + name + "' of shape " +
                       shape_string(average.sizes()) +
                       ", which this model's parameters do not (a model of another kind or "
                       "shape wrote it)");
    }
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, average] : state.tensors)
    parameters.at(name).copy_(average);
  return true;
}

}  // namespace ssmkit::train
