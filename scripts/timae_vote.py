#!/usr/bin/env python3
"""How far apart classifiers' errors are: reads the predictions.csv files that `train_timae
predict` writes (index, predicted, label) for the same test file, prints each file's accuracy, the
majority vote's accuracy, and the share of series that some / every classifier gets right.

    scripts/timae_vote.py runs/*/lightning_logs/version_*/predictions.csv
"""
import collections
import csv
import sys


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or {"predicted", "label"} - set(rows[0]):
        sys.exit(f"{path}: expected the columns index,predicted,label of train_timae predict")
    return [int(r["predicted"]) for r in rows], [int(r["label"]) for r in rows]


def accuracy(predicted, labels):
    return sum(p == y for p, y in zip(predicted, labels)) / len(labels)


def main(paths):
    if len(paths) < 2:
        sys.exit("usage: timae_vote.py PREDICTIONS.csv PREDICTIONS.csv [...]")
    runs, labels = {}, None
    for path in paths:
        predicted, y = read(path)
        if labels is not None and y != labels:
            sys.exit(f"{path}: its labels differ from {paths[0]}'s (not the same test file)")
        runs[path], labels = predicted, y
    for path in sorted(runs, key=lambda p: accuracy(runs[p], labels)):
        print(f"{accuracy(runs[path], labels):.4f}  {path}")
    columns = list(zip(*runs.values()))
    # Ties go to the label seen first among the files, as Counter.most_common keeps that order.
    vote = [collections.Counter(c).most_common(1)[0][0] for c in columns]
    some = sum(y in c for c, y in zip(columns, labels)) / len(labels)
    every = sum(all(p == y for p in c) for c, y in zip(columns, labels)) / len(labels)
    wrong = collections.Counter(y for c, y in zip(columns, labels) if y not in c)
    print(f"majority vote of {len(runs)}: {accuracy(vote, labels):.4f}")
    print(f"right for some classifier: {some:.4f}, for every one: {every:.4f}")
    print("wrong for every classifier, by label:", dict(sorted(wrong.items())))


if __name__ == "__main__":
    main(sys.argv[1:])
