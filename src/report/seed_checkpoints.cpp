// Seed-named links to the Trainer's checkpoints.
#include "ssmkit/report/seed_checkpoints.h"

#include <filesystem>
#include <system_error>

#include "ssmkit/io/error.h"
#include "ssmkit/report/lightning_checkpoints.h"

namespace ssmkit::report {

std::string seed_epoch_checkpoint_name(int64_t epoch) {
  return "checkpoint_epoch_" + std::to_string(epoch) + ".pth";
}

SeedCheckpointCallback::SeedCheckpointCallback(std::string folder) : folder_(std::move(folder)) {
  std::error_code error;
  std::filesystem::create_directories(folder_, error);
  if (error) throw InputError(folder_ + ": cannot create the folder (" + error.message() + ")");
}

void SeedCheckpointCallback::on_checkpoint_saved(const train::CheckpointSaved& info) {
  const std::filesystem::path folder(folder_);
  if (info.kind == "last") last_ = info.path;
  if (info.kind == "best") link_checkpoint(info.path, (folder / kSeedBestCheckpoint).string());
  if (info.kind == "periodic") {
    link_checkpoint(info.path, (folder / seed_epoch_checkpoint_name(info.epoch)).string());
  }
}

void SeedCheckpointCallback::on_train_end(const train::TrainEndInfo& /*info*/) {
  if (!last_.empty()) {
    link_checkpoint(last_, (std::filesystem::path(folder_) / kSeedFinalCheckpoint).string());
  }
}

}  // namespace ssmkit::report
