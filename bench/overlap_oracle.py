"""How many answers could ANY stopping rule save? An oracle frontier for dynamic overlap.

    .venv/bin/python bench/overlap_oracle.py                 # all seven data sets, ~5 min
    .venv/bin/python bench/overlap_oracle.py web s_rel       # some of them

Same replay as `bench/quality.py overlap` (each item's answers in a random order, seeds 0-4).
Instead of the platform's rule, an oracle stops each item at the first prefix of k >= kmin
answers whose label, computed with the FULL-DATA worker confusion matrices and class prior
(which no real rule has), equals a target label and whose posterior is >= t:

- `full`: the target is the fixed-overlap consensus (aggregate on all answers);
- `gold`: the gold label where known (the full-data label elsewhere);
- `known`: no target label, only the full-data matrices (stop at posterior >= t);
- `cap`: no rule, every item cut to kmin answers.

The answers it kept are then aggregated cold with the platform's `aggregate`, as the platform
would at rest, and scored against gold. Printed per data set: the most answers saved while
staying within 0.5 points of fixed overlap, and the best accuracy at >= 30% saved.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import DATASETS, OVERLAP_SEEDS, accuracy, load_dataset

from apps.tasks.aggregation import AggregationResult, aggregate

KMINS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30)
THRESHOLDS = (0.0, 0.99, 0.999, 0.99999)
TARGETS = ("cap", "full", "gold", "known")
GOAL_POINTS, GOAL_SAVED = -0.5, 0.3


def prefix_posteriors(
    shuffled: pd.DataFrame, rank: np.ndarray, full: AggregationResult
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every answer: the label and top posterior of its item's answers up to and including
    it (full-data matrices and prior), and the item's row in `full`."""
    items = pd.Index(full.item_ids).get_indexer(shuffled["task"])
    workers = pd.Index(full.worker_ids).get_indexer(shuffled["worker"])
    codes = pd.Index(list(full.labels)).get_indexer(shuffled["label"])
    logs = np.log(np.clip(full.confusions, 1e-10, None))
    per_answer = logs[workers, :, codes]
    order = np.lexsort((rank, items))
    cumulative = np.cumsum(per_answer[order], axis=0)
    sorted_items = items[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_items)) + 1]
    lengths = np.diff(np.r_[starts, len(order)])
    before = np.r_[np.zeros((1, logs.shape[1])), cumulative[starts[1:] - 1]]
    log_post = np.empty_like(per_answer)
    log_post[order] = cumulative - np.repeat(before, lengths, axis=0)
    log_post += np.log(np.clip(full.priors, 1e-10, None))[None, :]
    log_post -= log_post.max(axis=1, keepdims=True)
    posterior = np.exp(log_post)
    posterior /= posterior.sum(axis=1, keepdims=True)
    return posterior.argmax(axis=1), posterior.max(axis=1), items


def kept(rank: np.ndarray, items: np.ndarray, n_items: int, ok: np.ndarray, kmin: int):
    """Answers up to each item's first prefix of >= kmin answers where `ok` holds (all of them
    when it never holds)."""
    k = rank + 1
    never = np.iinfo(np.int64).max
    stop = np.full(n_items, never, dtype=np.int64)
    np.minimum.at(stop, items, np.where(ok & (k >= kmin), k, never))
    return k <= stop[items]


def frontier(name: str) -> pd.DataFrame:
    answers, gold = load_dataset(name)
    labels = sorted(set(answers["label"]) | set(gold.values()))
    full = aggregate(answers, labels=labels)
    fixed = accuracy(full.consensus(), gold)
    full_codes = full.label_codes.copy()
    gold_codes = full_codes.copy()
    known = pd.Series(gold)
    rows_of_gold = pd.Index(full.item_ids).get_indexer(known.index)
    found = rows_of_gold >= 0
    gold_codes[rows_of_gold[found]] = pd.Index(list(full.labels)).get_indexer(known.values[found])
    kmins = [k for k in KMINS if k < int(answers.groupby("task").size().max())]
    rows = []
    for seed in OVERLAP_SEEDS:
        rng = np.random.default_rng(seed)
        shuffled = answers.iloc[rng.permutation(len(answers))].reset_index(drop=True)
        rank = shuffled.groupby("task", sort=False).cumcount().to_numpy()
        label, top, items = prefix_posteriors(shuffled, rank, full)
        everywhere = np.ones(len(rank), dtype=bool)
        specs = [("cap", k, 0.0, everywhere) for k in kmins]
        for t in THRESHOLDS:
            sure = top >= t if t > 0 else everywhere
            for k in kmins:
                specs.append(("full", k, t, sure & (label == full_codes[items])))
                specs.append(("gold", k, t, sure & (label == gold_codes[items])))
                if t > 0:
                    specs.append(("known", k, t, sure))
        for target, k, t, ok in specs:
            keep = kept(rank, items, len(full.item_ids), ok, k)
            settled = aggregate(shuffled[keep], labels=labels)
            rows.append(
                {"data": name, "target": target, "kmin": k, "t": t, "seed": seed,
                 "fixed": fixed, "n": len(answers), "used": int(keep.sum()),
                 "acc": accuracy(settled.consensus(), gold)}
            )  # fmt: skip
    return pd.DataFrame(rows)


def summarize(frame: pd.DataFrame) -> None:
    means = (
        frame.groupby(["data", "target", "kmin", "t"], sort=False)
        .agg(fixed=("fixed", "first"), n=("n", "first"), used=("used", "mean"), acc=("acc", "mean"))
        .reset_index()
    )
    means["saved"] = 1 - means.used / means.n
    means["delta"] = 100 * (means.acc - means.fixed)
    print("| data set | oracle | most saved within 0.5 points | best delta at >= 30% saved |")
    print("|---|---|---|---|")
    for name in means.data.unique():
        for target in TARGETS:
            rows = means[(means.data == name) & (means.target == target)]
            within = rows[rows.delta >= GOAL_POINTS]
            most = within.loc[within.saved.idxmax()] if len(within) else None
            enough = rows[rows.saved >= GOAL_SAVED]
            best = enough.loc[enough.delta.idxmax()] if len(enough) else None
            print(f"| {name} | {target} | {_point(most)} | {_point(best)} |", flush=True)


def _point(row: pd.Series | None) -> str:
    if row is None:
        return "-"
    return f"{row.saved:.1%} at {row.delta:+.2f} (kmin {row.kmin}, t {row.t})"


def main() -> None:
    names = sys.argv[1:] or list(DATASETS)
    summarize(pd.concat([frontier(name) for name in names], ignore_index=True))


if __name__ == "__main__":
    main()
