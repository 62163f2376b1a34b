#!/usr/bin/env bash
# Reproduces the ETTh1 table of docs/results.md: prepare_data on ETTh1 with the standard ETT split,
# then train_c_mamba at the anchor configuration once per seed. Prints test MSE/MAE (normalised),
# epochs run and the median epoch time per seed, and the means. Extra arguments go to every
# train_c_mamba run (they override the defaults below, e.g. --lradj type3 or --encoder st).
#   ETTH1   the CSV          (default <repo>/../shared/data/ett/ETTh1.csv)
#   BUILD   build folder     (default <repo>/build)
#   RUNS    output folder    (default <repo>/runs)
#   SEEDS   seeds            (default "2021 2022 2023")
#   DEVICE  cpu | cuda       (default cuda when nvidia-smi works, else cpu)
#   TAG     run-name suffix  (default empty)
#   JOBS    seeds trained at the same time (default 1); each gets nproc/JOBS CPU threads, so
#           on a CPU machine JOBS=3 trains the three seeds in about half the time of one by one
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
etth1="${ETTH1:-$root/../shared/data/ett/ETTh1.csv}"
build="${BUILD:-$root/build}"
runs="${RUNS:-$root/runs}"
seeds="${SEEDS:-2021 2022 2023}"
tag="${TAG:-}"
jobs="${JOBS:-1}"
if ! [[ "$jobs" =~ ^[1-9][0-9]*$ ]]; then
  echo "cmamba_etth1.sh: JOBS must be a positive integer, got '$jobs'" >&2
  exit 1
fi
threads=$(($(nproc) / jobs))
if [ "$threads" -lt 1 ]; then threads=1; fi
if [ -z "${DEVICE:-}" ]; then
  if nvidia-smi >/dev/null 2>&1; then DEVICE=cuda; else DEVICE=cpu; fi
fi
if [ ! -f "$etth1" ]; then
  echo "cmamba_etth1.sh: $etth1 not found (set ETTH1=path/to/ETTh1.csv)" >&2
  exit 1
fi
mkdir -p "$runs"
npz="$runs/etth1_96_96.npz"
"$build/apps/prepare_data" --input_file "$etth1" --output_file "$npz" \
  --input_length 96 --forecast_length 96 --split ett

summary="$runs/etth1${tag}_summary.md"
{
  echo "| seed | epochs | median epoch s | test MSE | test MAE |"
  echo "|---|---|---|---|---|"
} >"$summary"
train_seed() {
  local seed="$1" name="etth1${tag}_s$1"
  local log="$runs/$name.log"
  SSMKIT_NUM_THREADS="${SSMKIT_NUM_THREADS:-$threads}" \
    "$build/apps/train_c_mamba" --train_dataset "$npz" --seq_len 96 --forecast_len 96 --input_dim 7 \
    --hidden_dim 128 --num_layers 3 --patch_len 16 --stride 8 --sigma 1.0 --reduction 2 \
    --dropout 0.1 --batch_size 64 --learning_rate 5e-4 --loss mae --patience 3 --num_epochs 10 \
    --seed "$seed" --device "$DEVICE" --output_dir "$runs" --project_name "$name" \
    --progress lines "${extra[@]}" >"$log" 2>&1 || { tail -20 "$log"; return 1; }
}
extra=("$@")
pids=()
# A failed seed stops the others too, so that no training outlives the script.
abort() {
  local pid
  for pid in $(jobs -rp); do
    pkill -TERM -P "$pid" 2>/dev/null || true  # the program the seed's subshell runs
    kill "$pid" 2>/dev/null || true
  done
  exit 1
}
for seed in $seeds; do
  if [ "$jobs" -eq 1 ]; then
    train_seed "$seed"
  else
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || abort; done
    train_seed "$seed" &
    pids+=($!)
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || abort; done

for seed in $seeds; do
  log="$runs/etth1${tag}_s${seed}.log"
  # "epoch 3/10  train_loss ...  3.3 s" lines and the final "N test windows: MSE x MAE y" line.
  epochs=$(grep -cE '\] epoch [0-9]+/[0-9]+ ' "$log" || true)
  median=$(grep -oE '  [0-9.]+ s( |$)' "$log" | awk '{print $1}' | sort -n |
    awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print "-"}')
  metrics=$(grep -oE 'test windows: MSE [0-9.]+ MAE [0-9.]+' "$log" | tail -1)
  mse=$(echo "$metrics" | awk '{print $4}')
  mae=$(echo "$metrics" | awk '{print $6}')
  echo "| $seed | $epochs | $median | $mse | $mae |" >>"$summary"
done
awk -F'|' 'NR > 2 {n++; mse += $5; mae += $6} END {printf "| mean | | | %.4f | %.4f |\n", mse / n, mae / n}' \
  "$summary" >>"$summary"
cat "$summary"
