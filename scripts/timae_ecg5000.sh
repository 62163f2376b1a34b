#!/usr/bin/env bash
# Reproduces the ECG5000 table of docs/results.md: for each model and seed, train_timae pretrains
# the masked autoencoder, fine-tunes the classifier (avg pooling) from its encoder on
# ECG5000_TRAIN (85/15 split) and tests it on the test file; prints accuracy, macro-F1 and wall
# times per run, then the means.
#   PROTOCOL  transductive: pretrain on the test file with TRAIN as validation (the seed's
#             commands); inductive: pretrain on TRAIN only              (default transductive)
#   UCR       folder of ECG5000_TRAIN.tsv and the test file  (default <repo>/../shared/data/ucr/ECG5000)
#   BUILD     build folder        (default <repo>/build)
#   RUNS      output folder       (default <repo>/runs/timae)
#   MODELS    "TiMAE TiMAEMamba"  (default both)
#   SEEDS     seeds               (default "2021 2022 2023")
#   PRETRAIN_EPOCHS / FINETUNE_EPOCHS  (default 1000 / 100, the seed's); FINETUNE_EPOCHS may be a
#             comma-separated list: one fine-tuning per entry (and per WEIGHTS entry)
#   DEVICE    cpu | cuda          (default cuda when nvidia-smi works, else cpu)
#   JOBS      runs at the same time (default 1); each gets nproc/JOBS CPU threads
#   WEIGHTS   class weights of the fine-tuning loss, one fine-tuning per comma-separated entry after the same
#             pretraining: inverse (the default: inverse frequency, clipped) and/or uniform
#             (the plain loss)                             (default "inverse")
#   FINETUNE_ON  split: fine-tune on 85% of TRAIN, validate on the rest (the seed's); all: fine-tune
#             on the whole of TRAIN (it is its own validation file)   (default split)
#   FINETUNE_FLAGS  more train_timae flags for the fine-tuning runs  (default none)
#   MODEL_FLAGS  more model flags for the pretraining and the fine-tuning runs alike, e.g.
#             "--model.num_layers 2"                        (default none: the seed's models)
#   PRETRAIN_FLAGS  more train_timae flags for the pretraining runs only, after the script's own
#             (so they override them), e.g. "--model.mask_ratio 0.5"   (default none)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ucr="${UCR:-$root/../shared/data/ucr/ECG5000}"
build="${BUILD:-$root/build}"
runs="${RUNS:-$root/runs/timae}"
models="${MODELS:-TiMAE TiMAEMamba}"
seeds="${SEEDS:-2021 2022 2023}"
protocol="${PROTOCOL:-transductive}"
pretrain_epochs="${PRETRAIN_EPOCHS:-1000}"
finetune_epochs="${FINETUNE_EPOCHS:-100}"
jobs="${JOBS:-1}"
weights="${WEIGHTS:-inverse}"
finetune_on="${FINETUNE_ON:-split}"
finetune_flags="${FINETUNE_FLAGS:-}"
extra_model_flags="${MODEL_FLAGS:-}"
pretrain_flags="${PRETRAIN_FLAGS:-}"
if [ -z "${DEVICE:-}" ]; then
  if nvidia-smi >/dev/null 2>&1; then DEVICE=cuda; else DEVICE=cpu; fi
fi
threads=$(($(nproc) / jobs))
if [ "$threads" -lt 1 ]; then threads=1; fi
train="$ucr/ECG5000_TRAIN.tsv"
test="$ucr/ECG5000_TEST.tsv"
[ -f "$test" ] || test="$ucr/ECG5000_TEST_approx4499_float32.tsv"
for f in "$train" "$test"; do
  if [ ! -f "$f" ]; then echo "timae_ecg5000.sh: $f not found (set UCR)" >&2; exit 1; fi
done
case "$protocol" in
  transductive) pretrain_data="--data.dataset_path $test --data.val_dataset_path $train" ;;
  inductive) pretrain_data="--data.dataset_path $train" ;;
  *) echo "timae_ecg5000.sh: PROTOCOL must be transductive or inductive" >&2; exit 1 ;;
esac
case "$finetune_on" in
  split) finetune_data="--data.dataset_path $train" ;;
  all) finetune_data="--data.dataset_path $train --data.val_dataset_path $train" ;;
  *) echo "timae_ecg5000.sh: FINETUNE_ON must be split or all" >&2; exit 1 ;;
esac
program="$build/apps/train_timae"
common="--trainer.enable_progress_bar False --threads $threads --trainer.accelerator $DEVICE"

# The seed's hyper-parameters per model: (pretraining flags, classifier flags).
model_flags() {
  case "$1" in
    TiMAE)
      echo "--model.num_heads 4 --model.num_layers 2 --model.emb_size 64 --model.intermediate_dim 256" \
        "--model.cls_embed True --model.max_len 140" $extra_model_flags ;;
    TiMAEMamba)
      echo "--model.num_heads 8 --model.ssm_state_size 64 --model.emb_size 64 --model.cls_embed True" \
        "--model.max_len 140" $extra_model_flags ;;
  esac
}
decoder_flags() {
  case "$1" in
    TiMAE) echo "--model.num_decoder_heads 4 --model.num_decoder_layers 2 --model.decoder_emb_size 32" \
      "--model.decoder_intermediate_dim 128" ;;
    TiMAEMamba) echo "--model.num_decoder_heads 8 --model.decoder_ssm_state_size 64 --model.decoder_emb_size 32" ;;
  esac
}

# Fine-tunes the classifier from $dir's pretraining checkpoint with one loss weighting and epoch
# count, tests it and prints its result line.
finetune_and_test() {
  local model="$1" seed="$2" dir="$3" weighting="$4" epochs="$5" pretrain_s="$6"
  local variant="$weighting"
  if [ "$finetune_epochs" != "${finetune_epochs//,/}" ]; then variant="${weighting}_e$epochs"; fi
  local weight_flag=""
  if [ "$weighting" = uniform ]; then weight_flag="--model.class_weights [1,1,1,1,1]"; fi
  local start_ft=$SECONDS
  # shellcheck disable=SC2046,SC2086
  (cd "$dir" && "$program" fit --model "$model" $(model_flags "$model") --model.pooling avg \
    $finetune_data $finetune_flags --data.batch_size 64 --trainer.max_epochs "$epochs" \
    --model.encoder_ckpt_path lightning_logs/version_0/checkpoints/last.ckpt $weight_flag \
    --trainer.default_root_dir "$variant" --seed_everything "$seed" $common \
    >"finetune_$variant.log" 2>&1)
  local finetuned=$SECONDS
  # shellcheck disable=SC2046,SC2086
  (cd "$dir/$variant" && "$program" test --model "$model" --data.dataset_path "$test" \
    --ckpt_path lightning_logs/version_0/checkpoints/last.ckpt --threads "$threads" \
    --trainer.accelerator "$DEVICE" >test.log 2>&1)
  python3 - "$dir/$variant" "$model/$variant" "$seed" "$pretrain_s" $((finetuned - start_ft)) <<'PY'
import json, sys
d, model, seed, pre, fine = sys.argv[1:]
m = json.load(open(f"{d}/lightning_logs/version_1/test_metrics.json"))
print(f"{model} {seed} {m['test_accuracy']:.4f} {m['test_macro_f1']:.4f} {pre} {fine}")
PY
}

one_run() {
  local model="$1" seed="$2" dir="$runs/$protocol/$1/seed$2"
  rm -rf "$dir" && mkdir -p "$dir"
  local start=$SECONDS
  # shellcheck disable=SC2046,SC2086 # flag lists
  (cd "$dir" && "$program" fit --model "${model}ForPretraining" $(model_flags "$model") \
    $(decoder_flags "$model") --model.seq_len 140 --model.mask_ratio 0.75 --data.pretrain True \
    $pretrain_data --data.batch_size 64 --trainer.max_epochs "$pretrain_epochs" \
    --seed_everything "$seed" $common $pretrain_flags >pretrain.log 2>&1)
  local pretrained=$SECONDS
  for weighting in ${weights//,/ }; do
    for epochs in ${finetune_epochs//,/ }; do
      finetune_and_test "$model" "$seed" "$dir" "$weighting" "$epochs" $((pretrained - start))
    done
  done
}

mkdir -p "$runs/$protocol"
results="$runs/$protocol/results.txt"
: >"$results"
pids=()
for model in $models; do
  for seed in $seeds; do
    one_run "$model" "$seed" >>"$results" &
    pids+=($!)
    if [ "${#pids[@]}" -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  done
done
wait
echo "protocol $protocol, device $DEVICE, pretraining $pretrain_epochs epochs, fine-tuning $finetune_epochs epochs"
echo "| model | seed | test accuracy | test macro-F1 | pretraining s | fine-tuning s |"
echo "|---|---|---|---|---|---|"
sort "$results" | awk '{printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6}'
awk '{n[$1]++; a[$1]+=$3; f[$1]+=$4} END {for (m in n) printf "| %s | mean of %d | %.4f | %.4f | | |\n", m, n[m], a[m]/n[m], f[m]/n[m]}' "$results"
