#!/usr/bin/env bash
# First command of the README: installs the dependencies, builds ssmkit and runs the demo, which
# trains a small Mamba model on the shipped toy sequence task and prints the loss going down.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install_deps.sh"
"$root/scripts/build.sh"
"${SSMKIT_BUILD_DIR:-$root/build}/apps/demo_training" --data "$root/data/toy_sequences.csv" \
  --output_dir "$root/runs/demo"
