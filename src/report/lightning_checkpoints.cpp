// Lightning-named links to the Trainer's checkpoints.
#include "ssmkit/report/lightning_checkpoints.h"

#include <filesystem>
#include <system_error>

#include "ssmkit/io/error.h"

namespace ssmkit::report {
namespace {

namespace fs = std::filesystem;

// Points `link` at `target`'s contents: a hard link, else a copy; through a temporary name and a
// rename, so a reader never sees a missing or partial file.
void place(const fs::path& target, const fs::path& link) {
  const fs::path temp = link.string() + ".tmp";
  std::error_code error;
  fs::remove(temp, error);
  fs::create_hard_link(target, temp, error);
  if (error) {
    error.clear();
    fs::copy_file(target, temp, fs::copy_options::overwrite_existing, error);
  }
  if (!error) fs::rename(temp, link, error);
  if (error) {
    throw InputError(link.string() + ": cannot write the checkpoint link (" + error.message() + ")");
  }
}

}  // namespace

std::string lightning_checkpoint_name(int64_t epoch_index, int64_t step) {
  return "epoch=" + std::to_string(epoch_index) + "-step=" + std::to_string(step) + ".ckpt";
}

void LightningCheckpointCallback::on_checkpoint_saved(const train::CheckpointSaved& info) {
  if (info.kind != "last") return;
  const fs::path folder = fs::path(info.path).parent_path();
  const fs::path named = folder / lightning_checkpoint_name(info.epoch - 1, info.step);
  place(info.path, named);
  place(info.path, folder / "last.ckpt");
  if (!previous_.empty() && previous_ != named.string()) {
    std::error_code ignored;
    fs::remove(previous_, ignored);
  }
  previous_ = named.string();
}

}  // namespace ssmkit::report
