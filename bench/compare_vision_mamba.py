#!/usr/bin/env python3
"""Vision Mamba training steps side by side: ssmkit (bench_vision_mamba_epoch) and the same model
in plain PyTorch (bench/vision_mamba_pytorch.py), one after the other on the same machine with the
same data, batch, steps and thread count; prints one table with the ratio PyTorch / ssmkit.
PyTorch runs with each of its selective scans (`--scans`: the sequential loop and the parallel
Blelloch scan) and the ratio is taken against the faster. The epoch column is the step time
times the steps of a full Fashion-MNIST epoch (extrapolated).

  python3 bench/compare_vision_mamba.py --build build --device cpu --threads 2 --steps 5
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare_timae import comparison_parser, run_json  # noqa: E402  (shared by the comparisons)


def main():
    ap = comparison_parser(__doc__.splitlines()[0], "/usr/share/datasets/fashion-mnist", 256)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--sizes", default="small")
    ap.add_argument("--scans", default="loop,pscan", help="PyTorch's scans to time")
    args = ap.parse_args()
    common = ["--data_dir", args.data_dir, "--device", args.device, "--epochs", str(args.epochs),
              "--threads", str(args.threads), "--batch_size", str(args.batch_size),
              "--steps", str(args.steps), "--json"]
    bf16 = ["--bf16"] if args.device.startswith("cuda") else []
    rows = []
    for size in args.sizes.split(","):
        ours = run_json([os.path.join(args.build, "bench", "bench_vision_mamba_epoch"),
                         "--size", size] + common)
        print(f"{size}: ssmkit {ours['step_s'] * 1e3:.1f} ms/step", file=sys.stderr, flush=True)
        timed = {}
        for scan in args.scans.split(","):
            timed[scan] = run_json([args.python, os.path.join(HERE, "vision_mamba_pytorch.py"),
                                    "--size", size, "--scan", scan] + common + bf16)
            print(f"{size}: PyTorch ({scan}) {timed[scan]['step_s'] * 1e3:.1f} ms/step",
                  file=sys.stderr, flush=True)
        rows.append((size, ours, timed))
    print("| size | device | threads | batch | params | PyTorch ms/step, by scan | PyTorch ms/step "
          "(faster) | ssmkit ms/step | speed-up | ssmkit s/epoch (extrapolated) | ssmkit step mode |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for size, ours, timed in rows:
        fastest = min(timed.values(), key=lambda t: t["step_s"])
        assert ours["params"] == fastest["params"], f"{size}: parameter counts differ"
        by_scan = ", ".join(f"{scan} {t['step_s'] * 1e3:.1f}" for scan, t in timed.items())
        print(f"| {size} | {args.device} | {args.threads} | {args.batch_size} | {ours['params']} | "
              f"{by_scan} | {fastest['step_s'] * 1e3:.1f} | {ours['step_s'] * 1e3:.1f} | "
              f"{fastest['step_s'] / ours['step_s']:.2f}x | "
              f"{ours['step_s'] * ours['full_epoch_steps']:.1f} | {ours['step_mode']} |")


if __name__ == "__main__":
    main()
