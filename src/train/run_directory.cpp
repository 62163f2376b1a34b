// Run folders: creation, layout, resolved configuration.
#include "ssmkit/train/run_directory.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <filesystem>

#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/config.h"
#include "ssmkit/io/error.h"

namespace ssmkit::train {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCheckpointsFolder = "checkpoints";
constexpr const char* kLastCheckpointFile = "last.pt";

std::string timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof(text), "%Y%m%d-%H%M%S", &local);
  return text;
}

// A folder holds a run once it has a training log or a checkpoint; a folder left by a program
// that stopped before its first epoch can be reused.
bool holds_run(const fs::path& folder) {
  if (fs::exists(folder / "training_log.json")) return true;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder / kCheckpointsFolder, error)) {
    if (entry.path().extension() == ".pt") return true;
  }
  return false;
}

void make_folders(const fs::path& folder) {
  std::error_code error;
  fs::create_directories(folder / kCheckpointsFolder, error);
  if (error)
    throw InputError(folder.string() + ": cannot create run folder (" + error.message() + ")");
}

}  // namespace

RunDirectory RunDirectory::create(const std::string& output_dir, const std::string& project_name) {
  if (output_dir.empty()) throw InputError("--output_dir: must not be empty");
  fs::path folder;
  if (!project_name.empty()) {
    if (project_name.find('/') != std::string::npos || project_name == "." ||
        project_name == "..") {
      throw InputError("--project_name " + project_name + ": must be a plain folder name");
    }
    folder = fs::path(output_dir) / project_name;
    if (holds_run(folder)) {
      throw InputError(folder.string() + " already holds a run; continue it with --resume " +
                       folder.string() + ", or choose another --project_name");
    }
  } else {
    const std::string base = "run-" + timestamp();
    folder = fs::path(output_dir) / base;
    for (int suffix = 2; fs::exists(folder); ++suffix) {
      folder = fs::path(output_dir) / (base + "-" + std::to_string(suffix));
    }
  }
  return RunDirectory(folder.string());
}

RunDirectory RunDirectory::of(const std::string& checkpoint_or_run_dir) {
  fs::path path(checkpoint_or_run_dir);
  if (fs::is_directory(path)) return RunDirectory(path.string());
  fs::path folder = path.parent_path();
  if (folder.filename() == kCheckpointsFolder) folder = folder.parent_path();
  if (folder.empty()) folder = ".";
  return RunDirectory(folder.string());
}

RunDirectory::RunDirectory(std::string folder) : path_(std::move(folder)) {
  if (path_.empty()) throw InputError("run folder: the path is empty");
  make_folders(path_);
}

std::string RunDirectory::file(const std::string& name) const {
  return (fs::path(path_) / name).string();
}

std::string RunDirectory::checkpoints_folder() const {
  return (fs::path(path_) / kCheckpointsFolder).string();
}

std::string RunDirectory::checkpoint(const std::string& name) const {
  return (fs::path(path_) / kCheckpointsFolder / (name + ".pt")).string();
}

void RunDirectory::write_config(const nlohmann::json& config) const {
  write_file_atomic(file("config.json"), config.dump(2) + "\n");
  spdlog::info("run folder {}\n{}", path_, io::format_config_table(config));
}

std::string resolve_checkpoint_path(const std::string& checkpoint_or_run_dir) {
  const fs::path path(checkpoint_or_run_dir);
  if (fs::is_directory(path)) {
    const fs::path last = path / kCheckpointsFolder / kLastCheckpointFile;
    if (!fs::exists(last)) {
      throw InputError("--resume " + checkpoint_or_run_dir + ": the folder holds no " +
                       (fs::path(kCheckpointsFolder) / kLastCheckpointFile).string() +
                       " (did the run finish its first epoch?)");
    }
    return last.string();
  }
  if (!fs::exists(path)) {
    throw InputError("--resume " + checkpoint_or_run_dir +
                     ": no such checkpoint file or run folder");
  }
  return path.string();
}

}  // namespace ssmkit::train
