// Lightning-named links to the Trainer's checkpoints.
#include "ssmkit/report/lightning_checkpoints.h"

#include <filesystem>
#include <system_error>

#include "ssmkit/io/error.h"

namespace ssmkit::report {

namespace fs = std::filesystem;

void link_checkpoint(const std::string& target, const std::string& link) {
  const fs::path temp = link + ".tmp";
  std::error_code error;
  fs::remove(temp, error);
  fs::create_hard_link(target, temp, error);
  if (error) {
    error.clear();
    fs::copy_file(target, temp, fs::copy_options::overwrite_existing, error);
  }
  if (!error) fs::rename(temp, link, error);
  if (error) {
    throw InputError(link + ": cannot write the checkpoint link (" + error.message() + ")");
  }
}

std::string lightning_checkpoint_name(int64_t epoch_index, int64_t step) {
  return "epoch=" + std::to_string(epoch_index) + "-step=" + std::to_string(step) + ".ckpt";
}

void LightningCheckpointCallback::on_checkpoint_saved(const train::CheckpointSaved& info) {
  if (info.kind != "last") return;
  const fs::path folder = fs::path(info.path).parent_path();
  const fs::path named = folder / lightning_checkpoint_name(info.epoch - 1, info.step);
  link_checkpoint(info.path, named.string());
  link_checkpoint(info.path, (folder / "last.ckpt").string());
  if (!previous_.empty() && previous_ != named.string()) {
    std::error_code ignored;
    fs::remove(previous_, ignored);
  }
  previous_ = named.string();
}

}  // namespace ssmkit::report
