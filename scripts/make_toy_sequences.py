#!/usr/bin/env python3
"""Writes data/toy_sequences.csv, the demo's toy forecasting task (see data/README.md).

Each row is one sequence of 32 steps: the sum of two sines with random frequency, amplitude and
phase, plus Gaussian noise. A model that sees the past of a row can forecast its next value far
better than by repeating the last one. Pure standard library and a fixed seed, so the file is
byte-identical wherever it is regenerated: python3 scripts/make_toy_sequences.py
"""
import math
import os
import random

SEED = 20240611
NUM_SEQUENCES = 512
LENGTH = 32
COMPONENTS = 2
FREQ_RANGE = (0.02, 0.12)  # cycles per step: 8 to 50 steps per period
AMPLITUDE_RANGE = (0.4, 1.0)
NOISE_STD = 0.05


def make_row(rng):
    waves = [(rng.uniform(*FREQ_RANGE), rng.uniform(*AMPLITUDE_RANGE), rng.uniform(0, 2 * math.pi))
             for _ in range(COMPONENTS)]
    return [sum(a * math.sin(2 * math.pi * f * t + p) for f, a, p in waves) + rng.gauss(0, NOISE_STD)
            for t in range(LENGTH)]


def main():
    rng = random.Random(SEED)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "data", "toy_sequences.csv")
    lines = [",".join("t%d" % t for t in range(LENGTH))]
    for _ in range(NUM_SEQUENCES):
        lines.append(",".join("%.4f" % v for v in make_row(rng)))
    tmp = path + ".tmp"
    with open(tmp, "w", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
