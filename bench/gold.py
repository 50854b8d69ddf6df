"""How much gold does a worker need? Gold answers per worker against how fast bad ones are caught.

    .venv/bin/python bench/gold.py                       # 2 and 10 labels, bar 0.6, ~1 min
    .venv/bin/python bench/gold.py --labels 10 --runs 4000 --answers 400 --bar 0.6 0.8

Offline and seeded: no server. Each simulated worker gives `--answers` answers on a project
with an endless supply of real work; each claim tries gold with the share the platform's
`gold_share_for` gives for the worker's gold so far (reliability.py), and at every
BLOCK_CHECK_EVERY answers the platform's `block_reason` judges the gold answers (the gold rule
alone: the model-based rules need a consensus, and catch random and constant workers without
gold). Gold answers are right with the worker's accuracy; a drifting worker is reliable for
`--drift-at` answers, then answers at random. Policies: the trusted fraction (1.0 is the old
behaviour, gold at the project's share forever).

Printed per policy and worker kind: gold answers per worker (mean), gold as a share of the
answers the workers gave (a blocked worker gives no more), share blocked within the answers,
answers before the block (median and 90th percentile of those blocked). For the drifting
worker: blocked after its drift, among those not blocked before (that is the reliable row),
and answers after the drift.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.workers.reliability import BlockRules, block_reason, gold_bar, gold_share_for

BLOCK_CHECK_EVERY = 10  # hitlcrowd/settings.py default
MIN_GOLD = 5  # the project's default block_min_gold
FRACTIONS = (1.0, 0.5, 0.25, 0.1, 0.0)


@dataclasses.dataclass(frozen=True)
class Kind:
    name: str
    accuracy: float | None  # None: at random (1 / labels)
    drift_at: int | None = None  # answers after which it answers at random


def main() -> None:
    args = parse_args()
    for labels in args.labels:
        for bar in args.bar:
            kinds = [
                Kind("reliable 0.9", 0.9),
                Kind("noisy 0.75", 0.75),
                Kind("random", None),
                Kind(f"drifting at {args.drift_at}", 0.9, drift_at=args.drift_at),
            ]
            rules = gold_rule(bar)
            share_bar = gold_bar(gold_accuracy=bar, below_skill=0.0, labels=labels)
            print(
                f"\n{labels} labels, gold bar {bar}, gold_share {args.share}, "
                f"{args.answers} answers per worker, {args.runs} runs per row"
            )
            print(
                f"{'fraction':>8} {'worker':<16} {'gold/worker':>11} {'gold share':>10} "
                f"{'blocked':>8} {'answers to block p50 / p90':>27}"
            )
            for fraction in args.fractions:
                for kind in kinds:
                    row = simulate(kind, labels, fraction, rules, share_bar, args)
                    print(
                        f"{fraction:>8} {kind.name:<16} {row['gold']:>11.1f} "
                        f"{row['share']:>10.1%} {row['blocked']:>8.1%} "
                        f"{row['p50']:>13} / {row['p90']:<12}"
                    )


def gold_rule(bar: float) -> BlockRules:
    """The project's gold rule alone (every other rule off, whatever fields BlockRules has)."""
    values = {field.name: 0 for field in dataclasses.fields(BlockRules)}
    return BlockRules(**(values | {"gold_accuracy": bar, "min_gold": MIN_GOLD}))


class Table:
    """A function of (gold answers, gold correct), filled in as the simulation reaches them."""

    def __init__(self, size: int, function) -> None:
        self.values = np.full((size + 1, size + 1), np.nan)
        self.function = function

    def __call__(self, gold: np.ndarray, correct: np.ndarray) -> np.ndarray:
        missing = np.isnan(self.values[gold, correct])
        for g, c in set(zip(gold[missing].tolist(), correct[missing].tolist(), strict=True)):
            self.values[g, c] = self.function(g, c)
        return self.values[gold, correct]


def simulate(kind: Kind, labels: int, fraction: float, rules, share_bar: float, args) -> dict:
    rng = np.random.default_rng(args.seed)
    runs, answers = args.runs, args.answers
    share = Table(
        answers,
        lambda g, c: gold_share_for(
            share=args.share,
            gold_answers=g,
            gold_correct=c,
            bar=share_bar,
            trusted_fraction=fraction,
        ),
    )
    blocks = Table(
        answers,
        lambda g, c: (
            block_reason(
                rules=rules, answers=answers, skill_high=None, gold_answers=g, gold_correct=c
            )
            is not None
        ),
    )
    gold = np.zeros(runs, dtype=np.int64)
    correct = np.zeros(runs, dtype=np.int64)
    blocked_at = np.full(runs, -1)
    chance = 1.0 / labels
    for answer in range(answers):
        active = blocked_at < 0
        accuracy = chance if kind.accuracy is None else kind.accuracy
        if kind.drift_at is not None and answer >= kind.drift_at:
            accuracy = chance
        served = active & (rng.random(runs) < share(gold, correct))
        right = served & (rng.random(runs) < accuracy)
        gold += served
        correct += right
        if (answer + 1) % BLOCK_CHECK_EVERY == 0:
            caught = active & (blocks(gold, correct) > 0)
            blocked_at[caught] = answer + 1
    given = np.where(blocked_at >= 0, blocked_at, answers)
    start = kind.drift_at or 0
    # A drifting worker blocked before its drift is a reliable worker blocked (that row).
    judged = (blocked_at < 0) | (blocked_at > start) if kind.drift_at else np.ones(runs, dtype=bool)
    after = blocked_at[judged & (blocked_at >= 0)] - start
    return {
        "gold": float(gold.mean()),
        "share": float(gold.sum() / given.sum()),
        "blocked": float((blocked_at[judged] >= 0).mean()),
        "p50": int(np.median(after)) if len(after) else "-",
        "p90": int(np.percentile(after, 90)) if len(after) else "-",
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", type=int, nargs="+", default=[2, 10])
    parser.add_argument("--bar", type=float, nargs="+", default=[0.6])
    parser.add_argument("--share", type=float, default=0.1, help="the project's gold_share")
    parser.add_argument("--answers", type=int, default=300)
    parser.add_argument("--drift-at", type=int, default=150)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--fractions", type=float, nargs="+", default=list(FRACTIONS))
    parser.add_argument("--seed", type=int, default=13)
    return parser.parse_args()


if __name__ == "__main__":
    main()
