#!/usr/bin/env python3
"""S4Model training side by side: ssmkit (bench_s4_epoch) and the same model in plain PyTorch
eager (bench/s4_pytorch.py), one after the other on the same machine with the same data, batch,
steps and thread count; prints one table with the ratio PyTorch / ssmkit. One epoch (54,000
sequences, or a CSV's training split) is extrapolated from the median timed step of each.

  python3 bench/compare_s4.py --build build --device cpu --threads 2 --steps 10
  python3 bench/compare_s4.py --build build --csv ../shared/data/tabular/wine.csv --steps 50
"""
import os
import sys

from compare_timae import HERE, comparison_parser, run_json  # shared by the comparisons


def main():
    ap = comparison_parser(__doc__.splitlines()[0], "/usr/share/datasets/fashion-mnist", 64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--csv", default="", help="a tabular CSV instead of Fashion-MNIST")
    ap.add_argument("--target", default="", help="--csv: the column to predict (default the last)")
    args = ap.parse_args()
    common = ["--data_dir", args.data_dir, "--device", args.device, "--threads", str(args.threads),
              "--steps", str(args.steps), "--warmup", str(args.warmup),
              "--batch_size", str(args.batch_size), "--json"]
    if args.csv:
        common += ["--csv", args.csv, "--target", args.target]
    ours = run_json([os.path.join(args.build, "bench", "bench_s4_epoch")] + common)
    print(f"ssmkit {ours['median_step_s'] * 1000:.1f} ms/step", file=sys.stderr, flush=True)
    torch = run_json([args.python, os.path.join(HERE, "s4_pytorch.py")] + common)
    print(f"PyTorch {torch['median_step_s'] * 1000:.1f} ms/step", file=sys.stderr, flush=True)
    assert ours["params"] == torch["params"], "parameter counts differ"
    print("| model | device | threads | batch | timed steps | params | PyTorch ms/step | ssmkit ms/step "
          "| PyTorch s/epoch | ssmkit s/epoch | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    data = (f"{os.path.basename(args.csv)}, {ours['sequence_length']} x 1" if args.csv
            else "784 x 1")
    print(f"| S4Model ({data}, d_model 128, 4 layers) | {args.device} | {args.threads} | "
          f"{args.batch_size} | {args.steps} | {ours['params']} | "
          f"{torch['median_step_s'] * 1000:.1f} | {ours['median_step_s'] * 1000:.1f} | "
          f"{torch['epoch_s_extrapolated']:.3g} | {ours['epoch_s_extrapolated']:.3g} | "
          f"{torch['median_step_s'] / ours['median_step_s']:.2f}x |")


if __name__ == "__main__":
    main()
