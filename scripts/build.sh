#!/usr/bin/env bash
# Configures and builds ssmkit into build/ (or $SSMKIT_BUILD_DIR). Extra arguments go to cmake's
# configure step, e.g. scripts/build.sh -DSSMKIT_CUDA=OFF. SSMKIT_BUILD_TARGET picks what is built
# (default: everything; scripts/setup.sh builds ssmkit_programs, the programs and the layers they
# link).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SSMKIT_BUILD_DIR:-$root/build}"
jobs="${SSMKIT_JOBS:-$(nproc)}"
generator=()
if command -v ninja >/dev/null 2>&1 && [ ! -f "$build/Makefile" ]; then generator=(-G Ninja); fi
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@" >"$build.configure.log" 2>&1 \
  || { cat "$build.configure.log"; exit 1; }
grep -E "^-- ssmkit" "$build.configure.log" || true
cmake --build "$build" -j "$jobs" ${SSMKIT_BUILD_TARGET:+--target "$SSMKIT_BUILD_TARGET"}
