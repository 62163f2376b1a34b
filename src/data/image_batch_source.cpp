// Normalised, augmented image batches.
#include "ssmkit/data/image_batch_source.h"

#include <torch/torch.h>

#include "ssmkit/data/seeded_rng.h"
#include "ssmkit/io/error.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::data {
namespace {

// Stream id of the image augmentations within SeededRng::derive, apart from the shuffles'.
constexpr uint64_t kImageAugmentStream = 0x696d6167;  // "imag"

at::Tensor channel_constants(const std::vector<double>& values, int64_t channels, const char* key) {
  if (values.size() != 1 && static_cast<int64_t>(values.size()) != channels) {
    throw InputError(std::string("--data.") + key + ": " + std::to_string(values.size()) +
                         " values for " + std::to_string(channels) + " image channels",
                     std::string("data.") + key);
  }
  return torch::tensor(values, torch::kFloat32)
      .view({1, -1, 1, 1})
      .expand({1, channels, 1, 1})
      .contiguous();
}

}  // namespace

ImageBatchSource::ImageBatchSource(at::Tensor images, at::Tensor labels, ImageBatchOptions options)
    : source_(images, labels, options.batches), options_(std::move(options)) {
  check_rank(images, "ImageBatchSource", "images", "(N, C, H, W)", 4);
  const int64_t channels = images.size(1);
  if (!options_.mean.empty() || !options_.std.empty()) {
    mean_ = channel_constants(options_.mean, channels, "normalize_mean");
    std_ = channel_constants(options_.std, channels, "normalize_std");
    if (!(std_ > 0).all().item<bool>()) {
      throw InputError("--data.normalize_std: every value must be positive", "data.normalize_std");
    }
  }
  if (options_.augmentation.crop_padding < 0) {
    throw InputError("--data.crop_padding: must be >= 0", "data.crop_padding");
  }
}

void ImageBatchSource::reset(int64_t epoch) {
  source_.reset(epoch);
  epoch_ = epoch;
  batch_index_ = 0;
}

at::Tensor ImageBatchSource::augment(const at::Tensor& images) const {
  const ImageAugmentation& a = options_.augmentation;
  if (a.crop_padding == 0 && !a.horizontal_flip) return images;
  const int64_t batch = images.size(0), height = images.size(2), width = images.size(3);
  const int64_t pad = a.crop_padding;
  std::vector<int64_t> top(batch), left(batch);
  std::vector<uint8_t> flip(batch);
  for (int64_t i = 0; i < batch; ++i) {
    SeededRng rng(SeededRng::derive(
        {options_.batches.seed, kImageAugmentStream, static_cast<uint64_t>(epoch_),
         static_cast<uint64_t>(batch_index_), static_cast<uint64_t>(i)}));
    top[i] = rng.uniform_int(0, 2 * pad);
    left[i] = rng.uniform_int(0, 2 * pad);
    flip[i] = a.horizontal_flip && rng.uniform() < 0.5;
  }
  at::Tensor out = images;
  if (pad > 0) {
    // Zero padding, then one gather of each example's window: rows top..top+H, columns
    // left..left+W of the padded image.
    const at::Tensor padded = torch::constant_pad_nd(images, {pad, pad, pad, pad}, 0.0);
    const at::Tensor rows = torch::tensor(top).unsqueeze(1) + torch::arange(height);  // (B, H)
    const at::Tensor cols = torch::tensor(left).unsqueeze(1) + torch::arange(width);  // (B, W)
    const at::Tensor examples = torch::arange(batch).view({batch, 1, 1});
    out = padded.permute({0, 2, 3, 1})
              .index({examples, rows.unsqueeze(2), cols.unsqueeze(1)})  // (B, H, W, C)
              .permute({0, 3, 1, 2})
              .contiguous();
  }
  if (a.horizontal_flip) {
    const at::Tensor mask = torch::tensor(std::vector<int64_t>(flip.begin(), flip.end()))
                                .to(torch::kBool)
                                .view({batch, 1, 1, 1});
    out = torch::where(mask, out.flip({3}), out);
  }
  return out;
}

bool ImageBatchSource::next(Batch& batch) {
  if (!source_.next(batch)) return false;
  at::Tensor images = batch.inputs.to(torch::kFloat32).div_(255.0);  // (B, C, H, W)
  images = augment(images);
  if (mean_.defined()) images = (images - mean_) / std_;
  batch.inputs = images;
  ++batch_index_;
  return true;
}

}  // namespace ssmkit::data
