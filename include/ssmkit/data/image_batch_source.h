// Batches of images for a classifier: uint8 images (N, C, H, W) in, float batches out, scaled to
// [0, 1] and normalised per channel, with the CIFAR augmentations applied to the whole batch at
// once (random crop after zero padding, horizontal flip). Each example's crop offset and flip are
// drawn from (seed, epoch, batch, example), so a resumed run sees the same augmented batches.
// Per-example data/image_transforms.h does the same on single examples; batched, the work is a
// few tensor ops per batch instead of several per image.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "ssmkit/data/batch.h"
#include "ssmkit/data/tensor_batch_source.h"

namespace ssmkit::data {

struct ImageAugmentation {
  int64_t crop_padding = 0;      // 0: no random crop
  bool horizontal_flip = false;  // mirror left-right with probability 1/2
};

struct ImageBatchOptions {
  TensorBatchSourceOptions batches;  // batch size, shuffle, drop_last, seed
  std::vector<double> mean;          // one per channel (or one for all); empty: no normalisation
  std::vector<double> std;
  ImageAugmentation augmentation;  // training only
};

class ImageBatchSource : public BatchSource {
 public:
  ImageBatchSource(at::Tensor images,  // (N, C, H, W) uint8
                   at::Tensor labels,  // (N) int64
                   ImageBatchOptions options);

  void reset(int64_t epoch) override;
  bool next(Batch& batch) override;
  int64_t num_batches() const override { return source_.num_batches(); }
  int64_t num_examples() const override { return source_.num_examples(); }
  void set_shard(const DataShard& shard) override { source_.set_shard(shard); }

 private:
  at::Tensor augment(const at::Tensor& images) const;  // (B, C, H, W) float -> same

  TensorBatchSource source_;
  ImageBatchOptions options_;
  at::Tensor mean_;  // (1, C, 1, 1) float32, undefined without normalisation
  at::Tensor std_;   // (1, C, 1, 1)
  int64_t epoch_ = 1;
  int64_t batch_index_ = 0;
};

}  // namespace ssmkit::data
