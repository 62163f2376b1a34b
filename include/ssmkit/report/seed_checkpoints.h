// The checkpoint names of the Vision Mamba seed beside the Trainer's own files, so that commands
// written for it (`evaluate_model --checkpoint checkpoints/vision_mamba_cifar10/best_model.pth`)
// find them: in `folder`, best_model.pth on each new best, checkpoint_epoch_<N>.pth for each
// periodic checkpoint, final_model.pth at the end of training (the last weights). All are links
// to the Trainer's files (lightning_checkpoints.h's link_checkpoint), so they cost no space.
#pragma once

#include <string>

#include "ssmkit/train/callback.h"

namespace ssmkit::report {

inline constexpr const char* kSeedBestCheckpoint = "best_model.pth";
inline constexpr const char* kSeedFinalCheckpoint = "final_model.pth";
// "checkpoint_epoch_<epoch>.pth"
std::string seed_epoch_checkpoint_name(int64_t epoch);

class SeedCheckpointCallback : public train::Callback {
 public:
  // Creates `folder` (InputError when it cannot).
  explicit SeedCheckpointCallback(std::string folder);
  void on_checkpoint_saved(const train::CheckpointSaved& info) override;
  void on_train_end(const train::TrainEndInfo& info) override;

 private:
  std::string folder_;
  std::string last_;  // the Trainer's newest last.pt
};

}  // namespace ssmkit::report
