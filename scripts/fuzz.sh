#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer, no LibTorch)
# into build-fuzz/ and runs each for a short time, starting from tiny valid files. Fails when a
# target finds a crash, a sanitizer report or a broken property; the input lands in
# build-fuzz/crashes/. Skips (exit 0) when clang++ is missing.
#   SSMKIT_FUZZ_SECONDS  seconds per target (default 10; the corpus is kept between runs in
#                        build-fuzz/corpus, so repeated runs go deeper)
#   SSMKIT_FUZZ_BUILD_DIR  build folder (default build-fuzz)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SSMKIT_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${SSMKIT_FUZZ_SECONDS:-10}"
jobs="${SSMKIT_JOBS:-$(nproc)}"
targets=(csv json_series npy npz ucr idx cifar)

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz: clang++ not found, skipping the fuzz targets (apt-get install clang)"
  exit 0
fi

mkdir -p "$build"
generator=()
if command -v ninja >/dev/null 2>&1 && [ ! -f "$build/Makefile" ]; then generator=(-G Ninja); fi
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSSMKIT_FUZZ_ONLY=ON >"$build/configure.log" 2>&1 \
  || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j "$jobs" >"$build/build.log" 2>&1 || { cat "$build/build.log"; exit 1; }

seeds="$build/seeds"
rm -rf "$seeds"
"$build/tests/fuzz/make_fuzz_seeds" "$seeds"
for f in "$seeds"/idx/*.idx; do gzip -n -c "$f" >"$f.gz"; done

mkdir -p "$build/crashes"
failed=()
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  log="$build/fuzz_$target.log"
  # New inputs go to the corpus (kept between runs); the seeds are read only.
  if "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=16384 -timeout=10 \
      -rss_limit_mb=2048 -artifact_prefix="$build/crashes/$target-" -print_final_stats=1 \
      "$corpus" "$seeds/$target" >"$log" 2>&1; then
    runs="$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')"
    echo "fuzz: $target ok (${runs:-?} inputs in ${seconds}s)"
  else
    echo "fuzz: $target FAILED; last lines of $log:"
    tail -n 30 "$log"
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failures in ${failed[*]}; reproduce with build-fuzz/tests/fuzz/fuzz_<target> <input>"
  exit 1
fi
