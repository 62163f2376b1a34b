// UCR .tsv files as a classification or pretraining data set, as the Lightning Ti-MAE's UCR2018
// data module does it: the training file (split into train and validation by a seeded shuffle
// unless a validation file is given), labels re-coded from class_id_start (the smallest training
// label unless given), optional normalisation with the training file's mean and standard deviation,
// a random crop of crop_size steps per training example, and labels dropped for pretraining (the
// targets are then the series themselves).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ssmkit/data/batch.h"

namespace ssmkit::data {

struct UcrDataOptions {
  std::string dataset_path;      // training file (fit) or the file to evaluate (test)
  std::string val_dataset_path;  // empty: split dataset_path by split_ratio
  int64_t batch_size = 64;
  bool pretrain = false;  // targets are the inputs (masked autoencoding)
  bool normalize = false;
  std::optional<int64_t> class_id_start;  // empty: the smallest training label
  int64_t crop_size = 0;                  // 0: whole series in training too
  double scale_std = 0.0;                 // training series times N(1, scale_std²) (0: off)
  double jitter_std = 0.0;                // training values plus N(0, jitter_std²) noise (0: off)
  double split_ratio = 0.85;              // training share when there is no validation file
  uint64_t split_seed = 42;               // the Lightning module's random_state
  std::optional<double> mean, std;        // empty: the training file's own statistics
};

struct UcrSeries {
  std::string path;
  at::Tensor inputs;  // (N, L, 1) float32, normalised when asked
  at::Tensor labels;  // (N) int64 class indices
};

struct UcrFitData {
  UcrSeries train, val;
  int64_t num_classes = 0;
  int64_t class_id_start = 0;
  double mean = 0.0, std = 1.0;  // applied when normalize (identity otherwise)
  int64_t length = 0;            // steps per series
};

// Reads the training (and validation) file. InputError naming the file and the problem: missing or
// malformed files, ragged rows (io::read_ucr_tsv), a validation file of another length, a label
// below class_id_start, crop_size larger than the series, split_ratio outside (0, 1), a split that
// leaves a side empty, a zero standard deviation.
UcrFitData load_ucr_fit_data(const UcrDataOptions& options);

// The file to evaluate, coded and normalised as the training data was (`fit` holds the values the
// training run resolved). InputError for a label outside [0, num_classes) after re-coding, or a
// length that differs from `expected_length` (when > 0).
UcrSeries load_ucr_eval_data(const std::string& path, const UcrDataOptions& options,
                             int64_t class_id_start, int64_t num_classes, double mean, double std);

// Training batches: shuffled per epoch (seeded), every example once (the last batch may be
// smaller), randomly cropped to crop_size steps and scaled and jittered when set. Targets are the
// labels, or the (cropped) inputs for pretraining.
std::unique_ptr<BatchSource> ucr_training_batches(const UcrSeries& series,
                                                  const UcrDataOptions& options, uint64_t seed);
// Evaluation batches in file order, whole series.
std::unique_ptr<BatchSource> ucr_evaluation_batches(const UcrSeries& series,
                                                    const UcrDataOptions& options);

}  // namespace ssmkit::data
