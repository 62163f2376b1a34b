// Lightning's checkpoint names beside the Trainer's own files, so that commands written for a
// Lightning run (`--ckpt_path lightning_logs/version_0/checkpoints/epoch=999-step=71000.ckpt`)
// find the same files: after each epoch, checkpoints/epoch=<E>-step=<S>.ckpt (E counted from 0,
// S the optimizer steps so far; only the newest is kept, as Lightning's default ModelCheckpoint
// does) and checkpoints/last.ckpt. Both are hard links to the Trainer's last.pt of that epoch (a
// copy where links are not possible), so they cost no space and are as complete as it is.
#pragma once

#include <string>

#include "ssmkit/train/callback.h"

namespace ssmkit::report {

// Points `link` at `target`'s contents: a hard link, else a copy; through a temporary name and a
// rename, so a reader never sees a missing or partial file. InputError naming `link` on failure.
void link_checkpoint(const std::string& target, const std::string& link);

// "epoch=<epoch_index>-step=<step>.ckpt"
std::string lightning_checkpoint_name(int64_t epoch_index, int64_t step);

class LightningCheckpointCallback : public train::Callback {
 public:
  void on_checkpoint_saved(const train::CheckpointSaved& info) override;

 private:
  std::string previous_;  // the epoch=... file of the previous epoch, removed when replaced
};

}  // namespace ssmkit::report
