// The demo: trains a small Mamba forecaster (input projection -> MambaStack -> output head) to
// predict the next value of each sequence of a one-sequence-per-row CSV (data/toy_sequences.csv),
// with Adam and MSE, and writes the per-epoch losses to <output_dir>/results.json atomically.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ssmkit::train {

struct DemoConfig {
  std::string data_path;   // CSV, one sequence per row (io/sequence_rows_csv.h)
  std::string output_dir;  // created if missing; receives results.json
  int64_t epochs = 10;
  int64_t batch_size = 64;
  double learning_rate = 5e-3;
  int64_t d_model = 32;
  int64_t n_layers = 2;
  uint64_t seed = 0;
  double val_fraction = 0.2;  // the last rows are held out for validation

  void validate() const;  // throws InputError naming the flag-like field
};

struct DemoEpoch {
  int64_t epoch = 0;      // 0 is the untrained model
  double train_loss = 0;  // mean MSE over the training pass (at epoch 0: evaluated, no updates)
  double val_loss = 0;    // MSE on the held-out rows
  double seconds = 0;     // wall time of the epoch
};

struct DemoResult {
  std::vector<DemoEpoch> epochs;   // epoch 0 .. config.epochs
  double last_value_val_loss = 0;  // baseline: forecast each value by the one before it
  int64_t train_sequences = 0;
  int64_t val_sequences = 0;
  int64_t sequence_length = 0;
  int64_t parameters = 0;
  std::string results_path;  // where results.json was written
};

// Runs the demo. `on_epoch` is called after each epoch (and once for epoch 0). Throws InputError
// for a bad config or data file.
DemoResult run_demo_training(const DemoConfig& config,
                             const std::function<void(const DemoEpoch&)>& on_epoch = {});

}  // namespace ssmkit::train
