// The per-run output folder <output_dir>/<project_name or timestamp>:
//   config.json          the resolved configuration
//   training_log.json    epoch history and status, rewritten atomically each epoch
//   metrics.jsonl        one JSON record per line: batches, epochs, weight statistics, test
//   checkpoints/         last.pt, best.pt, epoch_<N>.pt
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace ssmkit::train {

class RunDirectory {
 public:
  // Creates <output_dir>/<project_name>, or <output_dir>/run-<YYYYmmdd-HHMMSS> when project_name
  // is empty (with a -2, -3, ... suffix if taken). A named folder that already holds a run is an
  // InputError suggesting --resume, so a run is never overwritten by accident.
  static RunDirectory create(const std::string& output_dir, const std::string& project_name);
  // The run folder of a checkpoint file (<run>/checkpoints/x.pt) or of a run folder itself.
  static RunDirectory of(const std::string& checkpoint_or_run_dir);
  // The run folder `folder`, created (with checkpoints/) when missing.
  explicit RunDirectory(std::string folder);

  const std::string& path() const { return path_; }
  // <run>/<name>
  std::string file(const std::string& name) const;
  // <run>/checkpoints/<name>.pt
  std::string checkpoint(const std::string& name) const;
  std::string checkpoints_folder() const;

  // Writes config.json atomically and logs the configuration as a table.
  void write_config(const nlohmann::json& config) const;

 private:
  std::string path_;
};

// The checkpoint to resume from: the file itself, or <run>/checkpoints/last.pt for a run folder.
// InputError when neither exists.
std::string resolve_checkpoint_path(const std::string& checkpoint_or_run_dir);

}  // namespace ssmkit::train
