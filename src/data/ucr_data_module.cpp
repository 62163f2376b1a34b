// UCR .tsv files as training, validation and evaluation series.
#include "ssmkit/data/ucr_data_module.h"

#include <torch/torch.h>

#include <cmath>
#include <utility>

#include "ssmkit/data/array_tensor.h"
#include "ssmkit/data/epoch_shuffle.h"
#include "ssmkit/data/random_crop_batch_source.h"
#include "ssmkit/data/random_scale_jitter_batch_source.h"
#include "ssmkit/data/tensor_batch_source.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/ucr.h"

namespace ssmkit::data {
namespace {

// Batch sources stacked on a base source, each reading the one below it; owns them all.
class StackedSource : public BatchSource {
 public:
  explicit StackedSource(std::unique_ptr<BatchSource> base) : base_(std::move(base)) {}
  BatchSource& top() { return layers_.empty() ? *base_ : *layers_.back(); }
  void push(std::unique_ptr<BatchSource> layer) { layers_.push_back(std::move(layer)); }
  void reset(int64_t epoch) override { top().reset(epoch); }
  bool next(Batch& batch) override { return top().next(batch); }
  int64_t num_batches() const override { return base_->num_batches(); }
  int64_t num_examples() const override { return base_->num_examples(); }
  void set_shard(const DataShard& shard) override { base_->set_shard(shard); }

 private:
  std::unique_ptr<BatchSource> base_;
  std::vector<std::unique_ptr<BatchSource>> layers_;
};

struct RawSeries {
  at::Tensor values;  // (N, L) float64
  at::Tensor labels;  // (N) int64 as written
};

RawSeries read_series(const std::string& path, const char* flag) {
  if (path.empty()) throw InputError(std::string("--") + flag + ": missing (a UCR .tsv file)");
  const io::UcrSplit split = io::read_ucr_tsv(path);
  return {to_tensor(split.series).to(torch::kFloat64), to_tensor(split.labels).to(torch::kInt64)};
}

// Labels minus class_id_start; each must land in [0, num_classes) (num_classes 0: any >= 0).
at::Tensor recode(const at::Tensor& labels, int64_t start, int64_t num_classes,
                  const std::string& path) {
  const at::Tensor coded = labels - start;
  const int64_t low = coded.min().item<int64_t>(), high = coded.max().item<int64_t>();
  if (low < 0) {
    throw InputError(path + ": label " + std::to_string(low + start) +
                     " is outside the classes: below --data.class_id_start " +
                     std::to_string(start));
  }
  if (num_classes > 0 && high >= num_classes) {
    throw InputError(path + ": label " + std::to_string(high + start) + " is outside the classes " +
                     std::to_string(start) + ".." + std::to_string(start + num_classes - 1) +
                     " the model was trained on");
  }
  return coded;
}

UcrSeries make_series(const std::string& path, const at::Tensor& values, const at::Tensor& labels,
                      double mean, double std) {
  return {path, ((values - mean) / std).to(torch::kFloat32).unsqueeze(-1).contiguous(), labels};
}

void check_batch_size(const UcrDataOptions& options) {
  if (options.batch_size < 1) throw InputError("--data.batch_size: must be positive");
}

void check_crop(const UcrDataOptions& options, int64_t length, const std::string& path) {
  if (options.crop_size < 0) throw InputError("--data.crop_size: must be >= 0 (0: no crop)");
  if (options.crop_size > length) {
    throw InputError("--data.crop_size: " + std::to_string(options.crop_size) +
                     " is longer than the series of " + path + " (" + std::to_string(length) +
                     " steps)");
  }
}

// The training augmentation's deviations: finite and >= 0 (a YAML config can hold .nan).
void check_augmentation(const UcrDataOptions& options) {
  for (const auto& [flag, value] : {std::pair<const char*, double>{"scale_std", options.scale_std},
                                    {"jitter_std", options.jitter_std}}) {
    if (!(value >= 0.0) || !std::isfinite(value)) {
      throw InputError(std::string("--data.") + flag + ": must be a finite number >= 0, got " +
                       std::to_string(value));
    }
  }
}

}  // namespace

UcrFitData load_ucr_fit_data(const UcrDataOptions& options) {
  if (!(options.split_ratio > 0.0 && options.split_ratio < 1.0)) {
    throw InputError("--data.split_ratio: must be in (0, 1), got " +
                     std::to_string(options.split_ratio));
  }
  check_batch_size(options);
  const RawSeries train = read_series(options.dataset_path, "data.dataset_path");
  UcrFitData out;
  out.length = train.values.size(1);
  check_crop(options, out.length, options.dataset_path);
  check_augmentation(options);
  out.class_id_start =
      options.class_id_start ? *options.class_id_start : train.labels.min().item<int64_t>();
  at::Tensor train_labels = recode(train.labels, out.class_id_start, 0, options.dataset_path);
  out.num_classes = train_labels.max().item<int64_t>() + 1;

  if (options.normalize) {
    out.mean = options.mean ? *options.mean : train.values.mean().item<double>();
    out.std = options.std ? *options.std : train.values.std().item<double>();
    if (!(out.std > 0.0) || !std::isfinite(out.std)) {
      throw InputError(options.dataset_path +
                       ": --data.normalize: the values' standard deviation is " +
                       std::to_string(out.std) + ", cannot normalise");
    }
  }

  if (!options.val_dataset_path.empty()) {
    const RawSeries val = read_series(options.val_dataset_path, "data.val_dataset_path");
    if (val.values.size(1) != out.length) {
      throw InputError(options.val_dataset_path + ": series have " +
                       std::to_string(val.values.size(1)) + " steps, but " + options.dataset_path +
                       " has " + std::to_string(out.length));
    }
    at::Tensor val_labels = val.labels;
    // Pretraining ignores labels, so a validation file may use any coding there.
    if (!options.pretrain) {
      val_labels = recode(val.labels, out.class_id_start, 0, options.val_dataset_path);
      out.num_classes = std::max(out.num_classes, val_labels.max().item<int64_t>() + 1);
    }
    out.train = make_series(options.dataset_path, train.values, train_labels, out.mean, out.std);
    out.val = make_series(options.val_dataset_path, val.values, val_labels, out.mean, out.std);
    return out;
  }

  const int64_t n = train.values.size(0);
  const auto train_rows =
      static_cast<int64_t>(std::ceil(options.split_ratio * static_cast<double>(n)));
  if (train_rows < 1 || train_rows >= n) {
    throw InputError("--data.split_ratio: " + std::to_string(options.split_ratio) + " of the " +
                     std::to_string(n) + " series of " + options.dataset_path +
                     " leaves no training or no validation series");
  }
  const at::Tensor order =
      torch::tensor(epoch_permutation(n, options.split_seed, 0), torch::kInt64);
  const at::Tensor train_index = order.narrow(0, 0, train_rows);
  const at::Tensor val_index = order.narrow(0, train_rows, n - train_rows);
  out.train = make_series(options.dataset_path, train.values.index_select(0, train_index),
                          train_labels.index_select(0, train_index), out.mean, out.std);
  out.val = make_series(options.dataset_path, train.values.index_select(0, val_index),
                        train_labels.index_select(0, val_index), out.mean, out.std);
  return out;
}

UcrSeries load_ucr_eval_data(const std::string& path, const UcrDataOptions& options,
                             int64_t class_id_start, int64_t num_classes, double mean, double std) {
  check_batch_size(options);
  const RawSeries raw = read_series(path, "data.dataset_path");
  const at::Tensor labels =
      options.pretrain ? raw.labels : recode(raw.labels, class_id_start, num_classes, path);
  return make_series(path, raw.values, labels, options.normalize ? mean : 0.0,
                     options.normalize ? std : 1.0);
}

std::unique_ptr<BatchSource> ucr_training_batches(const UcrSeries& series,
                                                  const UcrDataOptions& options, uint64_t seed) {
  TensorBatchSourceOptions batches;
  batches.batch_size = options.batch_size;
  batches.shuffle = true;
  batches.seed = seed;
  auto source = std::make_unique<TensorBatchSource>(
      series.inputs, options.pretrain ? series.inputs : series.labels, batches);
  if (options.crop_size <= 0 && options.scale_std == 0.0 && options.jitter_std == 0.0) {
    return source;
  }
  auto stack = std::make_unique<StackedSource>(std::move(source));
  if (options.crop_size > 0) {
    stack->push(std::make_unique<RandomCropBatchSource>(stack->top(), options.crop_size, seed));
  }
  if (options.scale_std > 0.0 || options.jitter_std > 0.0) {
    stack->push(std::make_unique<RandomScaleJitterBatchSource>(stack->top(), options.scale_std,
                                                               options.jitter_std, seed));
  }
  return stack;
}

std::unique_ptr<BatchSource> ucr_evaluation_batches(const UcrSeries& series,
                                                    const UcrDataOptions& options) {
  TensorBatchSourceOptions batches;
  batches.batch_size = options.batch_size;
  return std::make_unique<TensorBatchSource>(
      series.inputs, options.pretrain ? series.inputs : series.labels, batches);
}

}  // namespace ssmkit::data
