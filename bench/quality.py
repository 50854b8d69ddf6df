"""Consensus quality and speed: HITLCrowd's aggregation beside crowd-kit, real and synthetic.

Prints tables (markdown); not a test. Run from the repository root:

    .venv/bin/python bench/quality.py                 # every section
    .venv/bin/python bench/quality.py real few        # some sections: real few speed overlap

Real data sets are read from $HITLCROWD_SHARED_DATA (default ../shared/data).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.tasks.aggregation import (
    DEFAULT_TOL,
    aggregate,
    overlap_decision,
)

warnings.filterwarnings("ignore", module="crowdkit")
warnings.filterwarnings("ignore", category=DeprecationWarning)

DATASETS = ("bluebirds", "rte", "dog", "web", "d_product", "d_possent", "s_rel")
REPO = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("HITLCROWD_SHARED_DATA", REPO.parent / "shared" / "data"))


def load_dataset(name: str) -> tuple[pd.DataFrame, dict[str, str]]:
    folder = data_dir() / name
    answers = pd.read_csv(folder / "answers.csv", dtype=str)
    gold = pd.read_csv(folder / "gold.csv", dtype=str)
    return answers, dict(zip(gold["task"], gold["label"], strict=True))


def accuracy(consensus: dict[Any, Any] | pd.Series, gold: dict[Any, str]) -> float:
    predicted = pd.Series(consensus).astype(str)
    common = predicted.index.intersection(list(gold))
    return float((predicted[common] == pd.Series(gold)[common]).mean())


# ---------------------------------------------------------------------------- synthetic crowd


@dataclass(frozen=True)
class Crowd:
    answers: pd.DataFrame  # task, worker, label (label as str "c0".."c{k-1}")
    gold: dict[Any, str]
    labels: tuple[str, ...]


def synthetic_crowd(
    *,
    n_tasks: int,
    n_workers: int,
    n_classes: int,
    overlap: int,
    seed: int,
    spammer_share: float = 0.15,
    accuracy_range: tuple[float, float] = (0.45, 0.9),
) -> Crowd:
    """Tasks with a skewed class prior; each answered by ``overlap`` distinct random workers.

    A worker is right with their own accuracy and, when wrong, picks a wrong class from their
    own Dirichlet-drawn bias; spammers answer uniformly at random.
    """
    rng = np.random.default_rng(seed)
    labels = tuple(f"c{c}" for c in range(n_classes))
    prior = rng.dirichlet(np.full(n_classes, 5.0))
    truth = rng.choice(n_classes, size=n_tasks, p=prior)
    confusions = _worker_confusions(rng, n_workers, n_classes, spammer_share, accuracy_range)
    # distinct workers per task: the first `overlap` of a random permutation (argpartition trick)
    keys = rng.random((n_tasks, n_workers))
    workers = np.argpartition(keys, overlap, axis=1)[:, :overlap]
    task = np.repeat(np.arange(n_tasks), overlap)
    worker = workers.ravel()
    cumulative = confusions[worker, truth[task]].cumsum(axis=1)
    given = (rng.random(len(task))[:, None] > cumulative).sum(axis=1)
    given = np.minimum(given, n_classes - 1)
    answers = pd.DataFrame(
        {"task": task, "worker": worker, "label": np.asarray(labels, dtype=object)[given]}
    )
    gold = dict(zip(range(n_tasks), np.asarray(labels)[truth].tolist(), strict=True))
    return Crowd(answers=answers, gold=gold, labels=labels)


def _worker_confusions(
    rng: np.random.Generator,
    n_workers: int,
    k: int,
    spammer_share: float,
    accuracy_range: tuple[float, float],
) -> np.ndarray:
    accuracy = rng.uniform(*accuracy_range, size=n_workers)
    bias = rng.dirichlet(np.full(k, 1.0), size=n_workers)  # where a worker's errors go
    confusions = np.empty((n_workers, k, k))
    for c in range(k):
        wrong = bias.copy()
        wrong[:, c] = 0.0
        wrong /= wrong.sum(axis=1, keepdims=True)
        confusions[:, c, :] = wrong * (1.0 - accuracy)[:, None]
        confusions[:, c, c] = accuracy
    spammers = rng.random(n_workers) < spammer_share
    confusions[spammers] = 1.0 / k
    return confusions


# ---------------------------------------------------------------------------- baselines


def crowdkit_ds(answers: pd.DataFrame, **kwargs: Any) -> Any:
    from crowdkit.aggregation import DawidSkene

    return DawidSkene(**kwargs).fit(answers)


def crowdkit_mv(answers: pd.DataFrame) -> pd.Series:
    from crowdkit.aggregation import MajorityVote

    return MajorityVote().fit_predict(answers)


def plain_sparse_em(answers: pd.DataFrame, n_iter: int = 100, tol: float = DEFAULT_TOL) -> int:
    """Textbook Dawid-Skene with NumPy/scipy.sparse on an integer-coded frame: the floor that
    the platform's full aggregation (ids, label set, results) is compared against. Returns the
    number of iterations."""
    task, _ = pd.factorize(answers["task"])
    worker, _ = pd.factorize(answers["worker"])
    label, _ = pd.factorize(answers["label"])
    n_items, n_workers, k = task.max() + 1, worker.max() + 1, label.max() + 1
    counts = sp.csr_matrix(
        (np.ones(len(task)), (task, worker * k + label)), shape=(n_items, n_workers * k)
    )
    counts_t = counts.T.tocsr()
    post = np.asarray(sp.csr_matrix((np.ones(len(task)), (task, label))).todense())
    post /= post.sum(axis=1, keepdims=True)
    previous = -np.inf
    for iteration in range(1, n_iter + 1):
        errors = np.asarray(counts_t @ post).reshape(n_workers, k, k) + 1e-10  # given x true
        errors /= errors.sum(axis=1, keepdims=True)
        joint = counts @ np.log(errors.reshape(n_workers * k, k)) + np.log(post.mean(axis=0))
        top = joint.max(axis=1, keepdims=True)
        post = np.exp(joint - top)
        total = post.sum(axis=1, keepdims=True)
        post /= total
        log_likelihood = float((top + np.log(total)).sum()) / len(task)
        if log_likelihood - previous < tol:
            return iteration
        previous = log_likelihood
    return n_iter


def timed(fn: Callable[[], Any], *, memory: bool = False) -> tuple[Any, float, float]:
    """(result, seconds, peak MB). Peak memory is measured in a second, traced run."""
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    peak = float("nan")
    if memory:
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result, seconds, peak


# ---------------------------------------------------------------------------- (a) real data


def section_real() -> None:
    print("\n## (a) Real data sets: accuracy against gold\n")
    print(
        "| data set | answers | HITLCrowd default | iters | time | HITLCrowd smoothing=0 | iters "
        "| crowd-kit DS converged (100 it) | time | crowd-kit DS default | iters | MV |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in DATASETS:
        answers, gold = load_dataset(name)
        labels = sorted(set(answers["label"]) | set(gold.values()))
        ours, ours_s, _ = timed(lambda a=answers, lb=labels: aggregate(a, labels=lb))
        plain = aggregate(answers, labels=labels, smoothing=0.0)
        converged, ck_s, _ = timed(lambda a=answers: crowdkit_ds(a, n_iter=100, tol=-np.inf))
        default = crowdkit_ds(answers)
        print(
            f"| {name} | {len(answers):,} | {accuracy(ours.consensus(), gold):.3f} "
            f"| {ours.iterations} | {ours_s:.2f} s "
            f"| {accuracy(plain.consensus(), gold):.3f} | {plain.iterations} "
            f"| {accuracy(converged.labels_, gold):.3f} | {ck_s:.1f} s "
            f"| {accuracy(default.labels_, gold):.3f} | {len(default.loss_history_)} "
            f"| {accuracy(crowdkit_mv(answers), gold):.3f} |",
            flush=True,
        )


# ---------------------------------------------------------------------------- (b) few answers


FEW_SEEDS = (1, 2, 3, 4, 5)


def few_answers_crowd(seed: int, answers_per_worker: int = 10) -> Crowd:
    n_workers = 200
    return synthetic_crowd(
        n_tasks=n_workers * answers_per_worker // 5,
        n_workers=n_workers,
        n_classes=10,
        overlap=5,
        seed=seed,
    )


def section_few() -> None:
    print("\n## (b) Synthetic crowd, few answers per worker (10 classes, overlap 5)\n")
    print("| answers per worker | seeds | HITLCrowd default | MV | crowd-kit DS converged "
          "| crowd-kit DS default | HITLCrowd smoothing=0 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for per_worker in (10, 25, 100):
        scores: dict[str, list[float]] = {k: [] for k in ("ours", "mv", "dsc", "dsd", "plain")}
        for seed in FEW_SEEDS:
            crowd = few_answers_crowd(seed, per_worker)
            a, gold, labels = crowd.answers, crowd.gold, crowd.labels
            scores["ours"].append(accuracy(aggregate(a, labels=labels).consensus(), gold))
            scores["mv"].append(accuracy(crowdkit_mv(a), gold))
            scores["dsc"].append(accuracy(crowdkit_ds(a, n_iter=100, tol=-np.inf).labels_, gold))
            scores["dsd"].append(accuracy(crowdkit_ds(a).labels_, gold))
            plain = aggregate(a, labels=labels, smoothing=0.0)
            scores["plain"].append(accuracy(plain.consensus(), gold))
        cells = " | ".join(f"{np.mean(v):.3f}" for v in scores.values())
        print(f"| {per_worker} | {len(FEW_SEEDS)} | {cells} |", flush=True)


# ---------------------------------------------------------------------------- (c) speed


def speed_crowd(n_answers: int, seed: int = 7) -> Crowd:
    return synthetic_crowd(
        n_tasks=n_answers // 5,
        n_workers=1000,
        n_classes=10,
        overlap=5,
        seed=seed,
    )


def section_speed(sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)) -> None:
    print("\n## (c) Speed: synthetic crowd, 1,000 workers, 10 classes, overlap 5\n")
    print(
        "| answers | HITLCrowd aggregate | iters | peak MB | plain sparse EM | iters | peak MB "
        "| crowd-kit DS per iter | crowd-kit DS 100 it | crowd-kit peak MB | crowd-kit iters run |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        crowd = speed_crowd(n)
        a, labels = crowd.answers, crowd.labels
        ours, ours_s, ours_mb = timed(lambda a=a, lb=labels: aggregate(a, labels=lb), memory=True)
        em_iters, em_s, em_mb = timed(lambda a=a: plain_sparse_em(a), memory=True)
        ck_iters = 100 if n <= 100_000 else 5
        _, ck_s, ck_mb = timed(
            lambda a=a, i=ck_iters: crowdkit_ds(a, n_iter=i, tol=-np.inf), memory=n <= 100_000
        )
        per_iter = ck_s / ck_iters
        print(
            f"| {n:,} | {ours_s:.2f} s | {ours.iterations} | {ours_mb:.0f} | {em_s:.2f} s "
            f"| {em_iters} | {em_mb:.0f} | {per_iter:.3f} s | {per_iter * 100:.0f} s "
            f"| {ck_mb:.0f} | {ck_iters} |",
            flush=True,
        )
    section_warm_update()


def section_warm_update(n_answers: int = 100_000, n_new: int = 100, seed: int = 11) -> None:
    crowd = speed_crowd(n_answers + n_new, seed=seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(crowd.answers))
    before = crowd.answers.iloc[np.sort(order[:n_answers])]
    cold = aggregate(before, labels=crowd.labels)
    warm, warm_s, _ = timed(
        lambda: aggregate(crowd.answers, labels=crowd.labels, initial_error=cold.initial_error())
    )
    full, cold_s, _ = timed(lambda: aggregate(crowd.answers, labels=crowd.labels))
    same = float((warm.label_codes == full.label_codes).mean())
    print(
        f"\nUpdate after {n_new} new answers on a {n_answers:,}-answer project: warm start "
        f"{warm_s:.3f} s ({warm.iterations} iterations) vs cold {cold_s:.3f} s "
        f"({full.iterations} iterations); same consensus on {same:.2%} of items.",
        flush=True,
    )


# ---------------------------------------------------------------------------- (d) overlap replay


@dataclass(frozen=True)
class Replay:
    accuracy: float
    answers_used: int
    rounds: int
    needs_review: int


def replay_overlap(
    answers: pd.DataFrame,
    gold: dict[Any, str],
    labels: list[str],
    *,
    min_overlap: int,
    target: float,
    seed: int = 0,
) -> Replay:
    """Answers arrive in a random order per item; each round every item that the decision
    function says ``need_more`` about receives its next answer (max = answers available)."""
    rng = np.random.default_rng(seed)
    shuffled = answers.iloc[rng.permutation(len(answers))]
    rank = shuffled.groupby("task", sort=False).cumcount().to_numpy()
    available = shuffled.groupby("task", sort=False)["task"].transform("size").to_numpy()
    per_item = shuffled.groupby("task", sort=False).size()
    granted = pd.Series(np.minimum(min_overlap, per_item.to_numpy()), index=per_item.index)
    result, rounds, warm = None, 0, None
    while True:
        rounds += 1
        visible = shuffled[rank < granted.reindex(shuffled["task"]).to_numpy()]
        result = aggregate(visible, labels=labels, initial_error=warm)
        warm = result.initial_error()
        more = _items_wanting_more(result, per_item, min_overlap, target)
        if not more:
            break
        granted[more] += 1
    del available
    decisions = _decisions(result, per_item, min_overlap, target)
    return Replay(
        accuracy=accuracy(result.consensus(), gold),
        answers_used=int(granted.sum()),
        rounds=rounds,
        needs_review=sum(d == "needs_review" for d in decisions),
    )


def _decisions(result: Any, per_item: pd.Series, min_overlap: int, target: float) -> list[str]:
    confidence = result.posteriors.max(axis=1)
    available = per_item.reindex(result.item_ids).to_numpy()
    return [
        overlap_decision(
            int(n), float(p), min_overlap=min(min_overlap, int(m)), max_overlap=int(m),
            target_posterior=target,
        )
        for n, p, m in zip(result.item_answers, confidence, available, strict=True)
    ]  # fmt: skip


def _items_wanting_more(
    result: Any, per_item: pd.Series, min_overlap: int, target: float
) -> list[Any]:
    decisions = _decisions(result, per_item, min_overlap, target)
    return [item for item, d in zip(result.item_ids, decisions, strict=True) if d == "need_more"]


OVERLAP_SETTINGS = ((2, 0.99), (3, 0.99), (3, 0.999), (5, 0.999), (5, 0.9999))


def section_overlap() -> None:
    print("\n## (d) Dynamic overlap, offline replay (answers in random order per item)\n")
    print("| data set | fixed overlap acc | answers | min | target | dynamic acc | answers used "
          "| saved | delta (points) | needs review | rounds |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in DATASETS:
        answers, gold = load_dataset(name)
        labels = sorted(set(answers["label"]) | set(gold.values()))
        fixed = accuracy(aggregate(answers, labels=labels).consensus(), gold)
        for min_overlap, target in OVERLAP_SETTINGS:
            r = replay_overlap(answers, gold, labels, min_overlap=min_overlap, target=target)
            saved = 1 - r.answers_used / len(answers)
            print(
                f"| {name} | {fixed:.3f} | {len(answers):,} | {min_overlap} | {target} "
                f"| {r.accuracy:.3f} | {r.answers_used:,} | {saved:.0%} "
                f"| {100 * (r.accuracy - fixed):+.1f} | {r.needs_review} | {r.rounds} |",
                flush=True,
            )


SECTIONS = {"real": section_real, "few": section_few, "speed": section_speed,
            "overlap": section_overlap}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", help=f"any of {', '.join(SECTIONS)} (default: all)")
    chosen = parser.parse_args().sections or list(SECTIONS)
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    for name in chosen:
        SECTIONS[name]()


if __name__ == "__main__":
    main()
