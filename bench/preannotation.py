"""Pre-annotation: how much does showing the model's suggestion bias the crowd toward it?

A simulation (no Django, no database): items with a true label among K, a model that is right
on a share `model_acc` of them, and workers who either know the answer (probability = their
skill) or are unsure. An unsure worker guesses uniformly; with pre-annotation on, an unsure
worker follows the shown suggestion with probability `follow` and guesses otherwise. Workers
who know the answer are never swayed (a conservative, favourable-to-pre-annotation assumption).

Each item gets `overlap` answers from distinct workers, aggregated with the project's default,
Dawid-Skene (apps/tasks/aggregation.py). Reported per setting:
- consensus accuracy overall, and on the items the model gets wrong (errors people must catch);
- "audit accuracy": the model's accuracy measured against that consensus, which is what the
  dashboard's audit sample reports, next to the model's true accuracy: the gap is the bias.

    .venv/bin/python bench/preannotation.py   # the tables in docs/benchmarks-preannotation.md
    .venv/bin/python bench/preannotation.py --items 2000 --seeds 3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.tasks.aggregation import aggregate


def simulate(
    *,
    n_items: int,
    k: int,
    model_acc: float,
    follow: float,
    overlap: int,
    n_workers: int,
    seed: int,
) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    labels = [f"c{j}" for j in range(k)]
    truth = rng.integers(0, k, n_items)
    model_right = rng.random(n_items) < model_acc
    wrong = (truth + rng.integers(1, k, n_items)) % k
    suggestion = np.where(model_right, truth, wrong)
    skill = rng.uniform(0.5, 0.9, n_workers)  # chance a worker knows the answer
    rows = []
    for item in range(n_items):
        for worker in rng.choice(n_workers, overlap, replace=False):
            if rng.random() < skill[worker]:
                answer = truth[item]
            elif rng.random() < follow:
                answer = suggestion[item]
            else:
                answer = rng.integers(0, k)
            rows.append((item, int(worker), labels[answer]))
    frame = pd.DataFrame(rows, columns=["task", "worker", "label"])
    consensus = aggregate(frame, labels=labels, method="dawid_skene").consensus()
    found = np.asarray([labels.index(consensus[i]) for i in range(n_items)])
    correct = found == truth
    return {
        "consensus_acc": float(correct.mean()),
        "acc_on_model_errors": float(correct[~model_right].mean()),
        "errors_caught": float((found[~model_right] != suggestion[~model_right]).mean()),
        "audit_acc": float((found == suggestion).mean()),
        "true_model_acc": float(model_right.mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--workers", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    print(
        f"{args.items} items, {args.classes} classes, {args.overlap} answers each, "
        f"{args.workers} workers (know the answer with p ~ U(0.5, 0.9)), Dawid-Skene, "
        f"mean of {args.seeds} seeds\n"
    )
    print(
        "| model acc | follow when unsure | consensus acc | acc on model errors | "
        "model errors caught | audit acc (measured) | audit minus true | inflation vs off |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for model_acc in (0.7, 0.85, 0.95):
        baseline = None
        for follow in (0.0, 0.3, 0.6, 0.9):
            runs = [
                simulate(
                    n_items=args.items,
                    k=args.classes,
                    model_acc=model_acc,
                    follow=follow,
                    overlap=args.overlap,
                    n_workers=args.workers,
                    seed=seed,
                )
                for seed in range(args.seeds)
            ]
            mean = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
            label = "off" if follow == 0 else f"{follow:.1f}"
            baseline = mean["audit_acc"] if baseline is None else baseline
            print(
                f"| {model_acc:.2f} | {label} | {mean['consensus_acc']:.3f} | "
                f"{mean['acc_on_model_errors']:.3f} | {mean['errors_caught']:.3f} | "
                f"{mean['audit_acc']:.3f} | {mean['audit_acc'] - mean['true_model_acc']:+.3f} | "
                f"{mean['audit_acc'] - baseline:+.3f} |"
            )
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
