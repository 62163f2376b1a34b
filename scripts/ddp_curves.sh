#!/usr/bin/env bash
# Data-parallel training against one process at the same global batch: train_c_mamba on ETTh1
# (the anchor configuration) under ssmkit_run with each process count in NPROCS, the global batch
# split evenly, for each seed. Prints the validation loss per epoch (mean and spread over the
# seeds) for each process count, the test MSE/MAE, the median epoch time and each multi-process
# run's weight check ("weights identical on all N ranks (CRC-32C ...)").
#   ETTH1         the CSV          (default <repo>/../shared/data/ett/ETTh1.csv)
#   BUILD         build folder     (default <repo>/build)
#   RUNS          output folder    (default <repo>/runs/ddp_curves)
#   NPROCS        process counts   (default "1 2"; on GPUs "1 2 4 8" as there are cards)
#   SEEDS         seeds            (default "2021 2022 2023")
#   EPOCHS        epochs per run, no early stopping (default 10)
#   GLOBAL_BATCH  examples per step over all processes (default 64, the anchor's)
#   DEVICE        cpu | cuda       (default cuda when nvidia-smi works, else cpu); on cuda each
#                 process takes GPU LOCAL_RANK and the group is NCCL (NCCL_NVLS_ENABLE=0)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
etth1="${ETTH1:-$root/../shared/data/ett/ETTh1.csv}"
build="${BUILD:-$root/build}"
runs="${RUNS:-$root/runs/ddp_curves}"
nprocs="${NPROCS:-1 2}"
seeds="${SEEDS:-2021 2022 2023}"
epochs="${EPOCHS:-10}"
global_batch="${GLOBAL_BATCH:-64}"
if [ -z "${DEVICE:-}" ]; then
  if nvidia-smi >/dev/null 2>&1; then DEVICE=cuda; else DEVICE=cpu; fi
fi
if [ ! -f "$etth1" ]; then
  echo "ddp_curves.sh: $etth1 not found (set ETTH1=path/to/ETTh1.csv)" >&2
  exit 1
fi
for n in $nprocs; do
  if ! [[ "$n" =~ ^[1-9][0-9]*$ ]] || [ $((global_batch % n)) -ne 0 ]; then
    echo "ddp_curves.sh: each of NPROCS must divide GLOBAL_BATCH ($global_batch), got '$n'" >&2
    exit 1
  fi
done
export NCCL_NVLS_ENABLE=0
mkdir -p "$runs"
npz="$runs/etth1_96_96.npz"
"$build/apps/prepare_data" --input_file "$etth1" --output_file "$npz" \
  --input_length 96 --forecast_length 96 --split ett >/dev/null

for n in $nprocs; do
  # On the CPU the processes share the cores; on GPUs each has its card and a few threads.
  threads=$(($(nproc) / n))
  if [ "$DEVICE" = cuda ] && [ "$threads" -gt 4 ]; then threads=4; fi
  if [ "$threads" -lt 1 ]; then threads=1; fi
  for seed in $seeds; do
    name="n${n}_s${seed}"
    rm -rf "${runs:?}/$name"
    SSMKIT_NUM_THREADS="$threads" "$build/apps/ssmkit_run" --standalone --nproc_per_node "$n" \
      train_c_mamba --train_dataset "$npz" --seq_len 96 --forecast_len 96 --input_dim 7 \
      --hidden_dim 128 --num_layers 3 --patch_len 16 --stride 8 --sigma 1.0 --reduction 2 \
      --dropout 0.1 --batch_size $((global_batch / n)) --learning_rate 5e-4 --loss mae \
      --patience 0 --num_epochs "$epochs" --seed "$seed" --device "$DEVICE" \
      --output_dir "$runs" --project_name "$name" --progress off >"$runs/$name.log" 2>&1 ||
      { tail -20 "$runs/$name.log"; exit 1; }
  done
done

python3 - "$runs" "$epochs" "$DEVICE" "$global_batch" "$nprocs" "$seeds" <<'PY'
import json, re, statistics, sys
runs, epochs, device, batch, nprocs, seeds = sys.argv[1:]
nprocs, seeds, epochs = nprocs.split(), seeds.split(), int(epochs)
def spread(values):
    return statistics.pstdev(values) if len(values) > 1 else 0.0
curves, tests, times, checks = {}, {}, {}, {}
for n in nprocs:
    for s in seeds:
        log = json.load(open(f"{runs}/n{n}_s{s}/training_log.json"))
        curves.setdefault(n, []).append([e["val_loss"] for e in log["epochs"]])
        tests.setdefault(n, []).append((log["test"]["metrics"]["test_mse"], log["test"]["metrics"]["test_mae"]))
        times.setdefault(n, []).extend(e["seconds"] for e in log["epochs"])
        text = open(f"{runs}/n{n}_s{s}.log").read()
        found = re.findall(r"weights (identical on all \d+ ranks \(CRC-32C 0x[0-9a-f]+\)|CRC-32C 0x[0-9a-f]+)", text)
        checks.setdefault(n, []).append(found[-1] if found else "no weight check logged")
print(f"ETTh1 CMamba, {device}, global batch {batch}, seeds {' '.join(seeds)}, {epochs} epochs")
print("| epoch | " + " | ".join(f"{n} proc: val_loss mean ± sd" for n in nprocs) + " |")
print("|---|" + "---|" * len(nprocs))
for e in range(epochs):
    cells = []
    for n in nprocs:
        values = [c[e] for c in curves[n] if len(c) > e]
        cells.append(f"{statistics.mean(values):.4f} ± {spread(values):.4f}")
    print(f"| {e + 1} | " + " | ".join(cells) + " |")
print()
print("| processes | test MSE (mean) | test MAE (mean) | median epoch s | weight check (per seed) |")
print("|---|---|---|---|---|")
for n in nprocs:
    mse = statistics.mean(t[0] for t in tests[n])
    mae = statistics.mean(t[1] for t in tests[n])
    print(f"| {n} | {mse:.4f} | {mae:.4f} | {statistics.median(times[n]):.1f} | {'; '.join(checks[n])} |")
PY
