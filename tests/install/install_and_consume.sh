#!/usr/bin/env bash
# Installs the built ssmkit into a temporary prefix, then configures, builds and runs a separate
# project that uses it through find_package(ssmkit). Arguments: <source dir> <build dir>.
set -euo pipefail
src="$1"
build="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/install/consumer" -B "$work/consumer" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix;$(grep -E '^CMAKE_PREFIX_PATH:' "$build/CMakeCache.txt" | cut -d= -f2)" \
  -DTorch_DIR="$(grep -E '^Torch_DIR:' "$build/CMakeCache.txt" | cut -d= -f2)" >/dev/null
cmake --build "$work/consumer" -j 2 >/dev/null
"$work/consumer/consumer"
