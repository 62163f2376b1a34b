#!/usr/bin/env bash
# Reproduces the Fashion-MNIST rows of docs/results.md: train_vision_mamba --config fashion_mnist
# for each seed, then evaluate_model on its best checkpoint (which must give the trainer's test
# accuracy); prints each run's test accuracy and seconds per epoch, then the mean accuracy.
#   FASHION_MNIST  folder of the four IDX files   (default /usr/share/datasets/fashion-mnist)
#   BUILD          build folder                   (default <repo>/build)
#   RUNS           output folder (the seed's tree logs/, checkpoints/, tensorboard/ goes there)
#                                                 (default <repo>/runs/vision_mamba)
#   SEEDS          seeds                          (default "1 2 3")
#   DEVICE         cpu | cuda                     (default cuda when nvidia-smi works, else cpu)
#   ARGS           more flags for train_vision_mamba, e.g. "--training.epochs 5"
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}"
build="${BUILD:-$root/build}"
runs="${RUNS:-$root/runs/vision_mamba}"
seeds="${SEEDS:-1 2 3}"
if [ -z "${DEVICE:-}" ]; then
  if nvidia-smi >/dev/null 2>&1; then DEVICE=cuda; else DEVICE=cpu; fi
fi
mkdir -p "$runs"
cd "$runs"
sum=0
count=0
for seed in $seeds; do
  name="vision_mamba_fashion_mnist_seed$seed"
  start=$SECONDS
  # shellcheck disable=SC2086 # ARGS is a list of flags
  "$build/apps/train_vision_mamba" --config fashion_mnist --data.data_dir "$data" \
    --training.device "$DEVICE" --training.seed "$seed" --logging.experiment_name "$name" \
    --logging.progress lines ${ARGS:-} | tee "$name.log" | grep -E "train_vision_mamba:|epoch" | tail -4
  "$build/apps/evaluate_model" --checkpoint "checkpoints/$name/best_model.pth" \
    --output_dir "evaluation_results/$name" --device "$DEVICE" >"$name.eval.log"
  trained=$(grep -oE "test_accuracy [0-9.]+ \([0-9]+ of" "$name.log" | tail -1)
  evaluated=$(grep -oE "test accuracy [0-9.]+ \([0-9]+ of" "$name.eval.log" | tail -1)
  accuracy=$(echo "$evaluated" | awk '{print $3}')
  epochs=$(python3 -c "import json;print(len(json.load(open('logs/$name/training_log.json'))['epochs']))")
  seconds=$(python3 -c "import json;e=json.load(open('logs/$name/training_log.json'))['epochs'];print('%.1f' % (sum(x['seconds'] for x in e)/len(e)))")
  echo "seed $seed: test accuracy $accuracy (trainer: ${trained#test_accuracy }; evaluate_model: ${evaluated#test accuracy }), $epochs epochs, $seconds s/epoch, wall $((SECONDS - start)) s"
  sum=$(awk "BEGIN {print $sum + $accuracy}")
  count=$((count + 1))
done
echo "== vision_mamba fashion_mnist on $DEVICE: mean test accuracy $(awk "BEGIN {printf \"%.4f\", $sum / $count}") over $count seeds"
