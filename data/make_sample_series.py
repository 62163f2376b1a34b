#!/usr/bin/env python3
"""Writes data/sample_series.json: a deterministic synthetic hourly series with three channels.

Standard library only; a fixed linear congruential generator makes the output byte-identical on
every machine and Python version. Run from the repository root: python3 data/make_sample_series.py
"""
import datetime
import json
import math
import os

ROWS = 2000
START = datetime.datetime(2023, 1, 1, 0, 0, 0)


class Lcg:
    """Numerical Recipes' 32-bit LCG; uniform in [0, 1)."""

    def __init__(self, seed):
        self.state = seed

    def uniform(self):
        self.state = (1664525 * self.state + 1013904223) % 2**32
        return self.state / 2**32

    def noise(self):
        # Sum of four uniforms: zero mean, std 1/sqrt(3), close enough to Gaussian.
        return sum(self.uniform() for _ in range(4)) - 2.0


def main():
    rng = Lcg(20230101)
    records = []
    for t in range(ROWS):
        hour = t % 24
        day = t / 24.0
        daily = math.sin(2 * math.pi * (hour - 6) / 24)
        weekly = math.sin(2 * math.pi * day / 7)
        temperature = 8.0 + 0.004 * t + 6.0 * daily + 1.2 * rng.noise()
        load = 50.0 + 12.0 * daily + 5.0 * weekly + 0.3 * (temperature - 8.0) + 2.0 * rng.noise()
        humidity = 70.0 - 2.5 * (temperature - 8.0) + 3.0 * rng.noise()
        records.append({
            "timestamp": (START + datetime.timedelta(hours=t)).strftime("%Y-%m-%d %H:%M:%S"),
            "load": round(load, 3),
            "temperature": round(temperature, 3),
            "humidity": round(humidity, 3),
        })
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample_series.json")
    with open(path, "w", encoding="utf-8") as out:
        out.write("[\n")
        out.write(",\n".join(json.dumps(r) for r in records))
        out.write("\n]\n")


if __name__ == "__main__":
    main()
