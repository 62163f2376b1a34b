#!/usr/bin/env bash
# First command of the README: installs the dependencies, builds ssmkit, runs the demos (a tiny
# Vision Mamba on a Fashion-MNIST slice, then a small Mamba model on the shipped toy sequence task,
# loss going down in both), then the cMamba pipeline on the
# shipped sample series: prepare_data, train_c_mamba (5 epochs), test metrics and forecast plots in
# runs/sample.
set -euo pipefail
# OpenMP threads that spin-wait starve each other when several processes share 2 cores (seen: a
# 0.4 s Mamba step took 20 s); passive waiting costs nothing measurable when the cores are free.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install_deps.sh"
# Only the library and the programs: the test suite is built by scripts/test.sh.
SSMKIT_BUILD_TARGET=ssmkit_programs "$root/scripts/build.sh"
# The Vision Mamba quick check (Fashion-MNIST slice, the loss falls), then the forecasting demo.
"${SSMKIT_BUILD_DIR:-$root/build}/apps/demo_training"
"${SSMKIT_BUILD_DIR:-$root/build}/apps/demo_training" --task forecast --data "$root/data/toy_sequences.csv" \
  --output_dir "$root/runs/demo"
build="${SSMKIT_BUILD_DIR:-$root/build}"
mkdir -p "$root/runs"
"$build/apps/prepare_data" --input_file "$root/data/sample_series.json" \
  --output_file "$root/runs/sample.npz" --input_length 96 --forecast_length 24
# A new run folder each time (a timestamped name), so that the command can be run again.
"$build/apps/train_c_mamba" --train_dataset "$root/runs/sample.npz" --output_dir "$root/runs" \
  --seq_len 96 --forecast_len 24 --input_dim 3 --num_epochs 5
