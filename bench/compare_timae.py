#!/usr/bin/env python3
"""Ti-MAE epochs side by side: ssmkit (bench_timae_epoch) and the same models in plain PyTorch
(bench/timae_pytorch.py), run one after the other on the same machine with the same data, batch
and thread count; prints one table with the ratio PyTorch / ssmkit per (model, phase).

  python3 bench/compare_timae.py --build build --data_dir ../shared/data/ucr/ECG5000 \
      --device cpu --threads 2 --epochs 3 [--python /usr/bin/python3]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def comparison_parser(description, data_dir, batch_size):
    """The flags every side-by-side comparison takes: ssmkit's build folder, the data, the device,
    threads, batch and the interpreter that has PyTorch."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--build", default="build", help="ssmkit build folder")
    ap.add_argument("--data_dir", default=data_dir)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch_size", type=int, default=batch_size)
    ap.add_argument("--python", default="/usr/bin/python3", help="interpreter with PyTorch")
    return ap


def main():
    ap = comparison_parser(__doc__.splitlines()[0],
                           os.path.join(HERE, "..", "..", "shared", "data", "ucr", "ECG5000"), 64)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--models", default="timae,timae_mamba")
    ap.add_argument("--phases", default="pretrain,finetune")
    args = ap.parse_args()
    common = ["--data_dir", args.data_dir, "--device", args.device, "--epochs", str(args.epochs),
              "--threads", str(args.threads), "--batch_size", str(args.batch_size), "--json"]
    rows = []
    for model in args.models.split(","):
        for phase in args.phases.split(","):
            which = ["--model", model, "--phase", phase]
            ours = run_json([os.path.join(args.build, "bench", "bench_timae_epoch")] + which + common)
            torch = run_json([args.python, os.path.join(HERE, "timae_pytorch.py")] + which + common)
            rows.append((model, phase, ours, torch))
            print(f"{model} {phase}: ssmkit {ours['median_epoch_s']:.3f} s, "
                  f"PyTorch {torch['median_epoch_s']:.3f} s", file=sys.stderr, flush=True)
    print("| model | phase | device | threads | params | PyTorch s/epoch | ssmkit s/epoch | speed-up "
          "| ssmkit steps / validation / rest s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for model, phase, ours, torch in rows:
        assert ours["params"] == torch["params"], f"{model} {phase}: parameter counts differ"
        print(f"| {model} | {phase} | {args.device} | {args.threads} | {ours['params']} | "
              f"{torch['median_epoch_s']:.3f} | {ours['median_epoch_s']:.3f} | "
              f"{torch['median_epoch_s'] / ours['median_epoch_s']:.2f}x | "
              f"{ours['train_s']:.3f} / {ours['val_s']:.3f} / {ours['other_s']:.3f} |")


if __name__ == "__main__":
    main()
