"""How far could any selection rule go? Active-learning ceilings that peek at the pool's true
labels (not valid strategies: a real one never sees them). Prints figures.

    .venv/bin/python bench/al_ceiling.py                          # seeds 0-9, about 10 s
    .venv/bin/python bench/al_ceiling.py --first-seed 10 --seeds 40

Same loop, model, start labels and target as `bench/learning.py --only al` (batch 5):
- coverage: the platform's strategy, for comparison.
- true_loss_coverage: coverage with 1 - p(true label) in place of the margin uncertainty, for
  the candidates and the weights: what a perfect uncertainty estimate would give it.

A label-peeking greedy (one item at a time, the candidate whose true label most raises the
retrained model's accuracy on the whole pool) was tried and dropped: it is myopic, needed 85.5
labels on seeds 0-9 (375 on one seed), and bounds nothing.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from functools import partial
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import learning as bench  # bench/learning.py

from apps.models import active, learning

BATCH = 5


def true_loss_coverage(model, labeled, seed, *, split):
    unlabeled = np.setdiff1d(np.arange(len(split.y_pool)), labeled)
    proba = learning.predict_proba(model, split.X_pool[unlabeled])
    truth = np.searchsorted(bench.LABEL_SET, split.y_pool[unlabeled])
    loss = 1.0 - proba[np.arange(len(unlabeled)), truth]
    features = learning.model_features(model, split.X_pool[unlabeled])
    labeled_features = learning.model_features(model, split.X_pool[labeled])
    pool = active._top(loss, min(len(unlabeled), 20 * BATCH))
    picked = active._coverage_greedy(
        features[pool], features, loss**2, labeled_features, BATCH, seed
    )
    return unlabeled[pool[picked]]


PEEKING = {"true_loss_coverage": true_loss_coverage}


def labels_to_target(name: str, split: bench.Split, target: float, seed: int) -> int:
    pick = partial(PEEKING[name], split=split) if name in PEEKING else None
    loop = bench.Loop(batch=BATCH)
    return bench.labels_to_target(name, split, target, seed, loop, pick=pick)[0]


def main() -> None:
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args()
    names = ["random", "coverage", "true_loss_coverage"]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    counts: dict[str, list[int]] = {name: [] for name in names}
    for seed in seeds:
        split = bench.digits_split(seed)
        _, target = bench.target_accuracy(split, bench.Loop(batch=BATCH))
        for name in names:
            counts[name].append(labels_to_target(name, split, target, seed))
    print(f"\n## Active-learning ceilings, batch {BATCH}, seeds {seeds.start}-{seeds.stop - 1}")
    print("| rule | labels per seed | mean | vs random |")
    print("|---|---|---|---|")
    base = np.mean(counts["random"])
    for name, ns in counts.items():
        mean = np.mean(ns)
        print(f"| {name} | {', '.join(map(str, ns))} | {mean:.1f} | {base / mean:.2f}x |")


if __name__ == "__main__":
    main()
