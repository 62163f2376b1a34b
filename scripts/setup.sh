#!/usr/bin/env bash
# First command of the README: installs the dependencies, builds ssmkit and runs the demo, which
# trains a small Mamba model on the shipped toy sequence task and prints the loss going down.
set -euo pipefail
# OpenMP threads that spin-wait starve each other when several processes share 2 cores (seen: a
# 0.4 s Mamba step took 20 s); passive waiting costs nothing measurable when the cores are free.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install_deps.sh"
"$root/scripts/build.sh"
"${SSMKIT_BUILD_DIR:-$root/build}/apps/demo_training" --data "$root/data/toy_sequences.csv" \
  --output_dir "$root/runs/demo"
