#!/usr/bin/env bash
# Second command of the README: installs what is missing, builds, and runs every test suite (CPU).
# On a CUDA machine, scripts/gpu/build_and_test.sh runs the GPU suites too.
set -euo pipefail
# OpenMP threads that spin-wait starve each other when several processes share 2 cores (seen: a
# 0.4 s Mamba step took 20 s); passive waiting costs nothing measurable when the cores are free.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SSMKIT_BUILD_DIR:-$root/build}"
"$root/scripts/install_deps.sh"
"$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j "${SSMKIT_TEST_JOBS:-2}" -LE gpu
if [ -x "$root/scripts/fuzz.sh" ]; then "$root/scripts/fuzz.sh"; fi
