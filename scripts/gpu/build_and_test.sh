#!/usr/bin/env bash
# One command on a CUDA machine that has the PyTorch wheel (LibTorch with CUDA), nvcc, CMake and
# Ninja but no system packages: unpacks the Debian packages from scripts/gpu/download_debs.sh into
# a prefix, builds ssmkit with the CUDA kernels, runs the GPU tests, the selective-scan benchmark,
# and compute-sanitizer (memcheck, racecheck) on a reduced test grid. Prints a summary last.
#   SSMKIT_DEBS       folder of .deb files           (default <repo>/.debs)
#   SSMKIT_BUILD_DIR  build folder, reused if present (default /tmp/ssmkit-build)
#   SSMKIT_LOG_DIR    logs                            (default <build>/logs)
#   SSMKIT_STEPS      steps to run                    (default "build test bench ncu sass sanitize";
#                     also: bench-states (the scan benchmark with each kernel layout forced);
#                     ncu-source (stalls per SASS instruction of the forward, CSV in the logs);
#                     kernel-time (forward kernel time and instructions at bf16 32x256x512,
#                     for each --pipelined value in SSMKIT_KERNEL_TIME_PIPELINED, default -1);
#                     with SSMKIT_TARGETS=all also: block (Mamba block benchmark), blockprof (its
#                     kernels' times, Nsight Systems or Compute), epoch (cMamba
#                     epoch, graph and plain steps), cputests (the CPU suites, one process per
#                     test), cputests-preload (the same with the system libstdc++ preloaded),
#                     etth1 (docs/results.md's ETTh1 runs, 3 seeds, with and without the weight
#                     average; needs SSMKIT_ETTH1))
#                     timae (Ti-MAE epochs against bench/timae_pytorch.py on this card), timaeprof
#                     (each kernel's GPU time over the third fine-tuning epoch of both models,
#                     Nsight Compute, gpu__time_duration only), timae-accuracy
#                     (docs/results.md's ECG5000 runs, scripts/timae_ecg5000.sh; SSMKIT_TIMAE_ENV
#                     passes its settings, e.g. "PRETRAIN_EPOCHS=200 JOBS=6"); ddp (ssmkit_run with
#                     one worker on an NCCL process group, train_c_mamba on the sample series)
#                     s4 (S4Model steps against bench/s4_pytorch.py on this card, then
#                     docs/results.md's sequential Fashion-MNIST run of s4model; SSMKIT_S4_EPOCHS,
#                     default 15); s4-lanes (the S4 step with 8 and with 4 modes per lane of the
#                     S4D scan kernels); s4prof (one S4Model training step of bench_s4_epoch,
#                     plain steps, under Nsight Compute: each kernel's GPU time,
#                     gpu__time_duration only)
#                     vim (Vision Mamba: training steps against both scans of bench/vision_mamba_pytorch.py on
#                     this card, then docs/results.md's Fashion-MNIST runs, 3 seeds,
#                     scripts/vision_mamba_fashion_mnist.sh; SSMKIT_VIM_ENV passes its settings)
#   SSMKIT_ETTH1      ETTh1.csv for the etth1 step     (default <repo>/.gpu-data/ETTh1.csv)
#   SSMKIT_UCR        ECG5000 folder for the timae steps (default <repo>/.gpu-data/ucr/ECG5000)
#   SSMKIT_FASHION_MNIST  Fashion-MNIST IDX folder for the s4 step (default the first that exists
#                     of <repo>/.gpu-data/fashion-mnist, the unpacked .debs' and the system's
#                     usr/share/datasets/fashion-mnist; copy Debian's dataset-fashion-mnist files
#                     into .gpu-data/fashion-mnist on a machine that has them)
#   SSMKIT_JOBS       parallel compile jobs           (default 16)
#   SSMKIT_TARGETS    what to build                   (default "ssmkit_gpu_tests bench_selective_scan_cuda";
#                     "all" builds the programs and CPU suites too)
#   SSMKIT_BUILD_APPS ON to configure the programs and benchmarks with another target list
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
debs="${SSMKIT_DEBS:-$root/.debs}"
build="${SSMKIT_BUILD_DIR:-/tmp/ssmkit-build}"
logs="${SSMKIT_LOG_DIR:-$build/logs}"
steps="${SSMKIT_STEPS:-build test bench ncu sass sanitize}"
jobs="${SSMKIT_JOBS:-16}"
targets="${SSMKIT_TARGETS:-ssmkit_gpu_tests bench_selective_scan_cuda}"
build_apps=OFF
if [ "$targets" = "all" ]; then build_apps=ON; fi
# Programs and benchmarks without the CPU suites: SSMKIT_BUILD_APPS=ON with a list of targets.
build_apps="${SSMKIT_BUILD_APPS:-$build_apps}"
deps=/tmp/ssmkit-deps
mkdir -p "$logs" "$build"
summary="$logs/summary.txt"
rm -f "$logs"/*.log
: >"$summary"

# Runs a step with a time limit, its output appended to $logs/<STEP_LOG or name>.log; records
# status and duration.
step() {
  local name="$1" limit="$2"
  shift 2
  local start=$SECONDS log="$logs/${STEP_LOG:-$name}.log"
  echo "== $name (limit ${limit}s): $*" | tee -a "$log"
  timeout "$limit" bash -c '"$@"' "$name" "$@" >>"$log" 2>&1
  local rc=$?
  echo "$name: exit $rc, $((SECONDS - start)) s" | tee -a "$summary"
  return $rc
}
wants() { [[ " $steps " == *" $1 "* ]]; }

export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Only the target GPU's code from LibTorch's CMake too (it would add every arch it was built for).
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"

configure() {
  if [ ! -d "$deps/usr" ]; then
    for f in "$debs"/*.deb; do dpkg -x "$f" "$deps"; done
  fi
  # zlib1g-dev's libz.so points at the Debian system's libz.so.1.x; use this machine's libz.so.1.
  local zso="$deps/usr/lib/x86_64-linux-gnu/libz.so"
  if [ ! -e "$zso" ]; then
    for cand in /usr/lib/x86_64-linux-gnu/libz.so.1 /lib/x86_64-linux-gnu/libz.so.1; do
      if [ -e "$cand" ]; then ln -sf "$cand" "$zso" && break; fi
    done
  fi
  echo "libzip needs:"; ldd "$deps/usr/lib/x86_64-linux-gnu/libzip.so.4" | grep -E "not found|=>" || true
  local torch_prefix
  torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv
  nvcc --version | tail -2
  # nccl.h of the wheel's NCCL package, for LibTorch's NCCL process group.
  local nccl_include
  nccl_include="$(python3 -c 'import os, nvidia.nccl; print(os.path.join(list(nvidia.nccl.__path__)[0], "include"))' 2>/dev/null || true)"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSSMKIT_CUDA=ON \
    -DSSMKIT_BUILD_APPS="$build_apps" -DSSMKIT_CUDA_VERBOSE=ON \
    ${nccl_include:+-DSSMKIT_NCCL_INCLUDE_DIR="$nccl_include"} \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$deps/usr;$deps/usr/lib/x86_64-linux-gnu/cmake"
}

compile() {
  # shellcheck disable=SC2086  # a list of targets
  cmake --build "$build" -j "$jobs" --target $targets
}

tests_bin="$build/tests/ssmkit_gpu_tests"
# Small cases for the sanitizers (they slow kernels down a hundredfold).
sanitize_filter='Grid/SelectiveScanCuda.MatchesFloat64Reference/L1_*:Grid/SelectiveScanCuda.MatchesFloat64Reference/L100_*:Grid/SelectiveScanCuda.MatchesFloat64Reference/L300_*:Grid/CausalConv1dCuda.*:CausalConv1dCudaFallback.*'
race_filter='Grid/SelectiveScanCuda.MatchesFloat64Reference/L100_N16_fp32_var_all:Grid/SelectiveScanCuda.MatchesFloat64Reference/L300_N12_bf16_strided:Grid/SelectiveScanCuda.MatchesFloat64Reference/L100_N256_fp16_fixB_varC:Grid/CausalConv1dCuda.MatchesFloat64Convolution/L100_K4_fp32_channel_last:Grid/CausalConv1dCuda.MatchesFloat64Convolution/L257_K3_bf16_autocast:Grid/CausalConv1dCuda.MatchesFloat64Convolution/L64_K2_fp32_tile'

sass() {
  local dir="$build/CMakeFiles/ssmkit_ops.dir/kernels/cuda/selective_scan"
  for f in "$dir"/*.o; do
    echo "### $(basename "$f")"
    cuobjdump -sass "$f" | awk '
      /Function :/ { if (fn) report(); fn=$3; n=0; delete c; next }
      /^ +\/\*[0-9a-f]+\*\// { n++; for (k in pats) if ($0 ~ pats[k]) c[k]++ }
      function report() { printf "%s: %d instructions", fn, n; for (k in pats) printf ", %s %d", k, c[k]+0; printf "\n" }
      BEGIN { pats["MUFU"]="MUFU"; pats["FFMA"]="FFMA"; pats["FMUL"]="FMUL"; pats["SHFL"]="SHFL";
              pats["LDS"]=" LDS"; pats["STS"]=" STS"; pats["LDG"]="LDG"; pats["STG"]="STG";
              pats["LDL"]="LDL"; pats["STL"]="STL"; pats["BAR"]="BAR.SYNC" }
      END { if (fn) report() }'
  done
}

# Hardware counters of one forward and one backward launch (bf16: the first anchor row and the
# 32x256x512 row), clocks as found.
profile() {
  local bench="$build/bench/bench_selective_scan_cuda"
  for row in 1 7; do
    for k in fwd bwd; do
      echo "### row $row, $k"
      ncu --clock-control none --section SpeedOfLight --section Occupancy --section LaunchStats \
        --section WarpStateStats --section SchedulerStats --section ComputeWorkloadAnalysis \
        --section SourceCounters -k "regex:selective_scan_${k}_kernel" -c 1 "$bench" --row "$row" \
        --iters 1 --warmup 0
    done
  done
}

# Forward kernel time and instruction count at bf16 32x256x512 (the row closest to the goal),
# inference launches (no checkpoints) and training launches (with), three of each. The bench's
# forwards at that row run in this order: 20 training ones (one per rotated input set, kept for
# the backward's timing), 35 inference ones (5 warm-up, 30 timed), then 35 training ones.
kernel_time() {
  local bench="$build/bench/bench_selective_scan_cuda"
  for pipelined in ${SSMKIT_KERNEL_TIME_PIPELINED:--1}; do
    for skip in 30 68; do
      echo "### forward kernel $pipelined (1 pipelined, 0 plain, -1 picked), launches" \
        "$((skip + 1))-$((skip + 3)) ($([ "$skip" = 30 ] && echo inference || echo training))"
      ncu --clock-control none --metrics gpu__time_duration.sum,smsp__inst_executed.sum \
        -k regex:selective_scan_fwd --launch-skip "$skip" -c 3 "$bench" --row 7 --iters 30 \
        --warmup 5 --pipelined "$pipelined"
    done
  done
}

# Stall reasons per SASS instruction of the forward kernel at the two bf16 rows on its smallest
# grids (32x256x512, 4x2048x8192): Nsight Compute's full set, its source page as CSV in the logs.
source_profile() {
  local bench="$build/bench/bench_selective_scan_cuda"
  for row in 7 5; do
    ncu --clock-control none --set full --import-source no -f -o "$logs/fwd_row$row" \
      -k "regex:selective_scan_fwd" -c 1 "$bench" --row "$row" --iters 1 --warmup 0 &&
      ncu -i "$logs/fwd_row$row.ncu-rep" --page source --csv --print-source sass \
        >"$logs/fwd_row${row}_sass.csv"
    ncu -i "$logs/fwd_row$row.ncu-rep" --page details --section WarpStateStats \
      --section SchedulerStats --section Occupancy --section SpeedOfLight || true
  done
}

# Where a Mamba block's time goes, kernel by kernel (fp32 and bf16 autocast rows of the block
# table, 5 timed repetitions): Nsight Systems' kernel summary, or Nsight Compute's durations.
block_profile() {
  local bench="$build/bench/bench_mamba_block"
  for row in 1 2; do
    echo "### block row $row"
    if command -v nsys >/dev/null; then
      nsys profile --force-overwrite true -o "$build/block_row$row" "$bench" --device cuda \
        --row "$row" --reps 5 &&
        nsys stats --report cuda_gpu_kern_sum "$build/block_row$row.nsys-rep"
    else
      ncu --clock-control none --metrics gpu__time_duration.sum --print-summary per-kernel \
        "$bench" --device cuda --row "$row" --reps 2
    fi
  done
}

# Data parallel on this GPU: one worker started by ssmkit_run joins an NCCL process group (world
# size 1) and trains the sample series.
ddp_run() {
  local dir="$build/ddp-run"
  rm -rf "$dir" && mkdir -p "$dir"
  "$build/apps/prepare_data" --input_file "$root/data/sample_series.json" \
    --output_file "$dir/windows.npz" --input_length 32 --forecast_length 8 --test_size 0.15 &&
    "$build/apps/ssmkit_run" --standalone --nproc_per_node 1 train_c_mamba \
      --train_dataset "$dir/windows.npz" --output_dir "$dir/runs" --project_name nccl \
      --seq_len 32 --forecast_len 8 --input_dim 3 --hidden_dim 16 --num_layers 1 --patch_len 8 \
      --stride 4 --d_state 4 --batch_size 64 --num_epochs 3 --device cuda --progress off
}
export root debs build logs deps jobs targets build_apps
export -f configure compile sass profile kernel_time source_profile block_profile ddp_run
status=0
if wants build; then
  STEP_LOG=build step configure 300 configure || status=1
  step build 420 compile || status=1
  grep -E "registers|spill|error" "$logs/build.log" | sort | uniq -c | sort -rn | head -40 >>"$summary" || true
fi
if wants test && [ -x "$tests_bin" ]; then
  # Four test processes, four CPU threads each (not one per core each): the float64 references
  # step through L in ops on a few hundred elements, where more threads only contend.
  SSMKIT_NUM_THREADS="${SSMKIT_NUM_THREADS:-4}" \
    step test 600 ctest --test-dir "$build" -L gpu -j 4 --output-on-failure --timeout 590 ||
    status=1
fi
if wants bench && [ -x "$build/bench/bench_selective_scan_cuda" ]; then
  step bench 240 "$build/bench/bench_selective_scan_cuda" || status=1
fi
# Each kernel layout forced (states per thread, pipelined forward), to check the choice by grid
# size.
if wants bench-states && [ -x "$build/bench/bench_selective_scan_cuda" ]; then
  for layout in "2 0" "4 0" "0 1"; do
    read -r states pipelined <<<"$layout"
    STEP_LOG=bench step "bench-states-$states-pipelined-$pipelined" 180 \
      "$build/bench/bench_selective_scan_cuda" --states "$states" --pipelined "$pipelined" ||
      status=1
  done
fi
if wants block && [ -x "$build/bench/bench_mamba_block" ]; then
  step block 180 "$build/bench/bench_mamba_block" --device cuda || status=1
  # The row-major projections (the CPU's layout) on the same card, for the layout's effect.
  STEP_LOG=block step block-row-layout 180 "$build/bench/bench_mamba_block" --device cuda \
    --layout row || status=1
fi
if wants blockprof && [ -x "$build/bench/bench_mamba_block" ]; then
  step blockprof 240 block_profile || status=1
fi
if wants epoch && [ -x "$build/bench/bench_cmamba_epoch" ]; then
  step epoch 300 "$build/bench/bench_cmamba_epoch" --threads 16 --steps 40 --cuda_steps graph,plain ||
    status=1
fi
if wants ddp && [ -x "$build/apps/ssmkit_run" ]; then step ddp 180 ddp_run || status=1; fi
if wants etth1 && [ -x "$build/apps/train_c_mamba" ]; then
  # The official protocol (type3, up to 100 epochs, patience 3), with and without the average.
  for variant in "_type3_e100 --lradj type3 --num_epochs 100" \
    "_type3_e100_ema99 --lradj type3 --num_epochs 100 --ema_decay 0.99"; do
    read -r tag args <<<"$variant"
    # shellcheck disable=SC2086 # args is a list of flags
    STEP_LOG=etth1 TAG="$tag" BUILD="$build" RUNS="$build/etth1-runs" DEVICE=cuda \
      ETTH1="${SSMKIT_ETTH1:-$root/.gpu-data/ETTh1.csv}" \
      step "etth1$tag" 300 bash "$root/scripts/cmamba_etth1.sh" $args || status=1
  done
fi
ucr="${SSMKIT_UCR:-$root/.gpu-data/ucr/ECG5000}"
if wants timae && [ -x "$build/bench/bench_timae_epoch" ]; then
  step timae 400 python3 "$root/bench/compare_timae.py" --build "$build" --data_dir "$ucr" \
    --device cuda --threads 4 --epochs 5 --python python3 || status=1
fi
if wants timaeprof && [ -x "$build/bench/bench_timae_epoch" ]; then
  for model in timae timae_mamba; do
    STEP_LOG=timaeprof step "timaeprof-$model" 240 ncu --profile-from-start off --clock-control none \
      --metrics gpu__time_duration.sum --print-summary per-kernel "$build/bench/bench_timae_epoch" \
      --model "$model" --phase finetune --data_dir "$ucr" --device cuda --threads 4 --epochs 3 \
      --profile_epoch 3 || status=1
  done
fi
if wants timae-accuracy && [ -x "$build/apps/train_timae" ]; then
  # shellcheck disable=SC2086 # settings list
  step timae-accuracy 560 env ${SSMKIT_TIMAE_ENV:-} BUILD="$build" RUNS="$build/timae-runs" \
    DEVICE=cuda UCR="$ucr" bash "$root/scripts/timae_ecg5000.sh" || status=1
fi
fmnist="${SSMKIT_FASHION_MNIST:-}"
if [ -z "$fmnist" ] && [ ! -e "$root/.gpu-data/fashion-mnist/train-images-idx3-ubyte.gz" ]; then
  for f in "$debs"/dataset-fashion-mnist*.deb; do [ -f "$f" ] && dpkg -x "$f" "$deps"; done
fi
for cand in "$root/.gpu-data/fashion-mnist" "$deps/usr/share/datasets/fashion-mnist" \
  /usr/share/datasets/fashion-mnist; do
  if [ -z "$fmnist" ] && [ -e "$cand/train-images-idx3-ubyte.gz" ]; then fmnist="$cand"; fi
done
fashion="$fmnist"
if wants s4 && [ -x "$build/bench/bench_s4_epoch" ] && [ -x "$build/apps/s4model" ]; then
  STEP_LOG=s4 step s4-bench 300 python3 "$root/bench/compare_s4.py" --build "$build" \
    --data_dir "$fmnist" --device cuda --threads 4 --steps 100 --warmup 10 --python python3 ||
    status=1
  rm -rf "$build/s4-runs"
  STEP_LOG=s4 step s4-accuracy 560 "$build/apps/s4model" --dataset fashion_mnist \
    --data_dir "$fmnist" --modelname s4_fashion_mnist --epochs "${SSMKIT_S4_EPOCHS:-15}" \
    --device cuda --progress lines --checkpoint_dir "$build/s4-runs/checkpoint" \
    --results_dir "$build/s4-runs/results" || status=1
  cat "$build/s4-runs/results/s4_fashion_mnist/metrics.json" >>"$logs/s4.log" 2>/dev/null
fi
if wants s4-lanes && [ -x "$build/bench/bench_s4_epoch" ]; then
  # The S4D scan kernels' two lane layouts (8 and 4 complex modes per lane) on the S4 step.
  for k in 8 4; do
    STEP_LOG=s4 step "s4-lanes-$k" 120 "$build/bench/bench_s4_epoch" --data_dir "$fmnist" \
      --device cuda --threads 4 --steps 60 --warmup 10 --s4d_modes_per_lane "$k" || status=1
  done
fi
if wants s4prof && [ -x "$build/bench/bench_s4_epoch" ]; then
  # One metric and one step (the third, bracketed by the CUDA profiler API): a full ncu section
  # set over the whole process does not finish in a call.
  STEP_LOG=s4prof step s4prof 300 ncu --profile-from-start off --clock-control none \
    --metrics gpu__time_duration.sum --print-summary per-kernel "$build/bench/bench_s4_epoch" \
    --data_dir "$fmnist" --device cuda --threads 4 --steps 1 --warmup 2 --step plain \
    --profile_step 3 || status=1
fi
if wants vim && [ -x "$build/bench/bench_vision_mamba_epoch" ]; then
  step vim 300 python3 "$root/bench/compare_vision_mamba.py" --build "$build" --data_dir "$fashion" \
    --device cuda --threads 4 --steps 50 --epochs 3 --python python3 || status=1
fi
if wants vim && [ -x "$build/apps/train_vision_mamba" ]; then
  # shellcheck disable=SC2086 # settings list
  STEP_LOG=vim step vim-accuracy 560 env ${SSMKIT_VIM_ENV:-} BUILD="$build" \
    RUNS="$build/vim-runs" DEVICE=cuda FASHION_MNIST="$fashion" \
    bash "$root/scripts/vision_mamba_fashion_mnist.sh" || status=1
fi
if wants cputests && [ -x "$build/tests/ssmkit_tests" ]; then
  step cputests 400 ctest --test-dir "$build" -L cpu -E install_and_find_package -j "$jobs" \
    --timeout 300 --output-on-failure || status=1
fi
# The PyTorch wheel's libtorch_cpu.so may export its own copies of libstdc++'s std::filesystem
# functions; preloading the system libstdc++ makes its definitions win the symbol lookup.
if wants cputests-preload && [ -x "$build/tests/ssmkit_tests" ]; then
  LD_PRELOAD="$(g++ -print-file-name=libstdc++.so.6)" step cputests-preload 400 ctest \
    --test-dir "$build" -L cpu -E install_and_find_package -j "$jobs" --timeout 300 || status=1
fi
if wants ncu && [ -x "$build/bench/bench_selective_scan_cuda" ]; then step ncu 240 profile || true; fi
if wants kernel-time && [ -x "$build/bench/bench_selective_scan_cuda" ]; then
  step kernel-time 120 kernel_time || true
fi
if wants ncu-source && [ -x "$build/bench/bench_selective_scan_cuda" ]; then
  step ncu-source 240 source_profile || true
fi
if wants sass; then step sass 60 sass || true; fi
if wants sanitize && [ -x "$tests_bin" ]; then
  STEP_LOG=sanitizer step memcheck 240 compute-sanitizer --tool memcheck --error-exitcode 1 "$tests_bin" \
    --gtest_filter="$sanitize_filter" || status=1
  STEP_LOG=sanitizer step racecheck 240 compute-sanitizer --tool racecheck --error-exitcode 1 "$tests_bin" \
    --gtest_filter="$race_filter" || status=1
fi

echo
echo "== summary"
cat "$summary"
[ -f "$logs/test.log" ] && grep -E "tests passed|FAILED|Failed|Passed|\*\*\*" "$logs/test.log" | tail -30
[ -f "$logs/bench.log" ] && cat "$logs/bench.log"
for f in block epoch etth1 timae timae-accuracy ddp vim; do [ -f "$logs/$f.log" ] && grep -E "^==|^\||^cpu|^cuda|^protocol|^seed" "$logs/$f.log"; done
[ -f "$logs/s4.log" ] && grep -E "^==|^\||^s4model:|^cuda|test_accuracy|seconds_per_epoch|epochs_completed" "$logs/s4.log"
for f in cputests cputests-preload; do
  [ -f "$logs/$f.log" ] && grep -E "tests passed|\((Failed|SEGFAULT|Timeout)\)" "$logs/$f.log" | head -20
done
[ -f "$logs/sanitizer.log" ] && grep -E "^== |SUMMARY|FAILED  \]|PASSED" "$logs/sanitizer.log"
exit $status
