"""Consensus quality and speed: HITLCrowd's aggregation beside crowd-kit, real and synthetic.

Prints tables (markdown); not a test. Run from the repository root:

    .venv/bin/python bench/quality.py                 # every section
    .venv/bin/python bench/quality.py real few        # some sections: real few speed overlap decide
    .venv/bin/python bench/quality.py decide --seeds 3 --datasets issue2 issue10 rte

Real data sets are read from $HITLCROWD_SHARED_DATA (default ../shared/data).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
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
    DEFAULT_MAX_OVERLAP,
    DEFAULT_MIN_OVERLAP,
    DEFAULT_MIN_VOTE_LEAD,
    DEFAULT_REVIEW_BELOW,
    DEFAULT_TARGET_POSTERIOR,
    DEFAULT_TOL,
    DONE,
    NEED_MORE,
    NEEDS_REVIEW,
    aggregate,
    overlap_decisions,
    vote_leads,
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
class OverlapRule:
    name: str
    min_overlap: int = DEFAULT_MIN_OVERLAP
    max_overlap: int = DEFAULT_MAX_OVERLAP
    target: float = DEFAULT_TARGET_POSTERIOR
    min_vote_lead: int | None = DEFAULT_MIN_VOTE_LEAD  # None: posterior only


OVERLAP_RULES = (
    OverlapRule("platform default"),
    OverlapRule("posterior only, min 3", min_overlap=3, min_vote_lead=None),
)
OVERLAP_SEEDS = (0, 1, 2, 3, 4)
# services/consensus/warm.py's warm_start: warm only when the previous run saw most of these
# answers.
WARM_SHARE, WARM_MIN_ANSWERS = 0.9, 1000
RELIABILITY_BINS = (0.0, 0.9, 0.99, 0.999, 1.0)


@dataclass(frozen=True)
class Replay:
    accuracy: float
    answers_used: int
    rounds: int
    needs_review: int
    stop_posterior: np.ndarray  # per gold item, its top posterior when the replay ended
    correct: np.ndarray  # per gold item, consensus == gold
    # The last warm-started run's accuracy, before the settle run (the platform settles a quiet
    # project resting on a warm-started run with a cold run, services/consensus/scheduling.py;
    # `accuracy` is after it).
    warm_accuracy: float


def replay_overlap(
    answers: pd.DataFrame, gold: dict[Any, str], labels: list[str], rule: OverlapRule, seed: int
) -> Replay:
    """Each item's answers arrive in a random order. Every round the project is re-aggregated
    (warm-started as the platform does) and each item that ``overlap_decisions`` says
    ``need_more`` about gets its next answer; an item out of answers stops with what it has.
    When no item wants more and the last run was warm, a cold run settles the project, as the
    platform's settle job does, and the replay goes on if it asks for more answers."""
    rng = np.random.default_rng(seed)
    shuffled = answers.iloc[rng.permutation(len(answers))].reset_index(drop=True)
    by_item = shuffled.groupby("task", sort=False)
    rank = by_item.cumcount().to_numpy()
    item_index = pd.Index(by_item.size().index)
    available = by_item.size().to_numpy()
    row_of_answer = item_index.get_indexer(shuffled["task"])
    granted = np.minimum(rule.min_overlap, available)
    rounds, warm, previous, settle, before_settling = 0, None, 0, False, None
    while True:
        rounds += 1
        visible = shuffled[rank < granted[row_of_answer]]
        use_warm = (
            not settle
            and len(visible) >= WARM_MIN_ANSWERS
            and previous >= WARM_SHARE * len(visible)
        )
        result = aggregate(visible, labels=labels, initial_error=warm if use_warm else None)
        warm, previous = result.initial_error(), len(visible)
        rows = item_index.get_indexer(result.item_ids)
        decisions = _overlap_codes(result, visible, labels, rule, available[rows])
        wanting = rows[decisions == NEED_MORE]
        if len(wanting):
            granted[wanting] += 1
            settle = False
        elif use_warm:
            # Quiet, on a warm-started run: the platform's settle job re-aggregates cold (and
            # the cold run may ask for more answers on some items).
            settle, before_settling = True, result
        else:
            break
    outcome = _replay_outcome(result, gold, decisions, int(granted.sum()), rounds)
    warm_accuracy = accuracy((before_settling or result).consensus(), gold)
    return dataclasses.replace(outcome, warm_accuracy=warm_accuracy)


def _overlap_codes(
    result: Any, visible: pd.DataFrame, labels: list[str], rule: OverlapRule, available: np.ndarray
) -> np.ndarray:
    lead = None
    if rule.min_vote_lead is not None:
        items = pd.Index(result.item_ids).get_indexer(visible["task"])
        codes = pd.Index(list(result.labels)).get_indexer(visible["label"])
        lead = vote_leads(items, codes, result.label_codes, len(labels))
    return overlap_decisions(
        result.item_answers,
        result.posteriors.max(axis=1),
        lead,
        min_overlap=np.minimum(rule.min_overlap, available),
        max_overlap=np.minimum(rule.max_overlap, available),
        target_posterior=rule.target,
        min_vote_lead=rule.min_vote_lead or 0,
    )


def _replay_outcome(
    result: Any, gold: dict[Any, str], decisions: np.ndarray, used: int, rounds: int
) -> Replay:
    consensus = pd.Series(result.consensus()).astype(str)
    common = consensus.index.intersection(list(gold))
    correct = (consensus[common] == pd.Series(gold)[common]).to_numpy()
    top = pd.Series(result.posteriors.max(axis=1), index=result.item_ids)[common].to_numpy()
    return Replay(
        accuracy=float(correct.mean()),
        answers_used=used,
        rounds=rounds,
        needs_review=int((decisions == NEEDS_REVIEW).sum()),
        stop_posterior=top,
        correct=correct,
        warm_accuracy=float("nan"),
    )


def section_overlap() -> None:
    print("\n## (d) Dynamic overlap, offline replay (answers in random order per item)\n")
    print(f"Seeds {OVERLAP_SEEDS}; dynamic accuracy and answers are means over seeds, "
          "worst = the seed furthest below fixed overlap.\n")  # fmt: skip
    print("| rule | data set | fixed acc | dynamic acc (settled) mean | worst seed "
          "| delta mean (points) | delta before settling | answers (fixed) | answers used "
          "| saved | needs review | goal met |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    replays: dict[str, list[Replay]] = {}
    for name in DATASETS:
        answers, gold = load_dataset(name)
        labels = sorted(set(answers["label"]) | set(gold.values()))
        fixed = accuracy(aggregate(answers, labels=labels).consensus(), gold)
        for rule in OVERLAP_RULES:
            runs = [replay_overlap(answers, gold, labels, rule, seed) for seed in OVERLAP_SEEDS]
            if rule == OVERLAP_RULES[0]:
                replays[name] = runs
            _print_overlap_row(rule, name, fixed, len(answers), runs)
    _print_reliability(replays)


def _print_overlap_row(
    rule: OverlapRule, name: str, fixed: float, n_answers: int, runs: list[Replay]
) -> None:
    accuracies = np.array([r.accuracy for r in runs])
    used = np.mean([r.answers_used for r in runs])
    delta, saved = 100 * (accuracies.mean() - fixed), 1 - used / n_answers
    warm = 100 * (np.mean([r.warm_accuracy for r in runs]) - fixed)
    met = "yes" if delta >= -0.5 and saved >= 0.3 else "no"
    print(
        f"| {rule.name} | {name} | {fixed:.3f} | {accuracies.mean():.3f} | {accuracies.min():.3f} "
        f"| {delta:+.2f} | {warm:+.2f} | {n_answers:,} | {used:,.0f} | {saved:.0%} "
        f"| {np.mean([r.needs_review for r in runs]):,.0f} | {met} |",
        flush=True,
    )


def _print_reliability(replays: dict[str, list[Replay]]) -> None:
    """Top posterior when the replay ended (items re-decide every round, so this is the
    posterior they stopped on) against accuracy on gold, per data set, all seeds pooled."""
    edges = np.array(RELIABILITY_BINS)
    names = [f"[{lo}, {hi})" for lo, hi in itertools.pairwise(edges[:-1])] + [f"[{edges[-2]}, 1]"]
    print(f"\nReliability of the top posterior when the replay ended, rule "
          f"'{OVERLAP_RULES[0].name}' (cell: accuracy against gold / mean posterior / gold items, "
          "all seeds):\n")  # fmt: skip
    print("| data set | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for name, runs in replays.items():
        top = np.concatenate([r.stop_posterior for r in runs])
        correct = np.concatenate([r.correct for r in runs])
        bins = np.clip(np.searchsorted(edges, top, side="right") - 1, 0, len(edges) - 2)
        cells = [
            f"{correct[bins == b].mean():.3f} / {top[bins == b].mean():.4f} / {(bins == b).sum():,}"
            if (bins == b).any()
            else "-"
            for b in range(len(edges) - 1)
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


# ---------------------------------------------------------------------------- (e) the decision


def issue_crowd(*, n_classes: int, seed: int, n_tasks: int = 1000) -> Crowd:
    """The crowd of issue 13's outside runs: 30 workers, 19 reliable (accuracy 0.85-0.95), 7
    noisy (0.6-0.7), 3 answering at random, 1 always answering the majority class. Two classes
    with a 0.63 majority, or ten near-uniform ones (the digits demo). Every worker answers
    every item, in a random order per item: the replay takes them one at a time."""
    rng = np.random.default_rng(seed)
    labels = tuple(f"c{c}" for c in range(n_classes))
    prior = np.array([0.63, 0.37]) if n_classes == 2 else rng.dirichlet(np.full(n_classes, 50.0))
    truth = rng.choice(n_classes, size=n_tasks, p=prior)
    accuracy = np.concatenate([rng.uniform(0.85, 0.95, 19), rng.uniform(0.6, 0.7, 7)])
    n_workers = 30
    confusions = np.empty((n_workers, n_classes, n_classes))
    for worker, right in enumerate(accuracy):
        confusions[worker] = (1.0 - right) / (n_classes - 1)
        np.fill_diagonal(confusions[worker], right)
    confusions[26:29] = 1.0 / n_classes  # random
    confusions[29] = 0.0
    confusions[29, :, int(prior.argmax())] = 1.0  # constant: the majority class
    task = np.repeat(np.arange(n_tasks), n_workers)
    worker = np.tile(np.arange(n_workers), n_tasks)
    cumulative = confusions[worker, truth[task]].cumsum(axis=1)
    given = np.minimum((rng.random(len(task))[:, None] > cumulative).sum(axis=1), n_classes - 1)
    answers = pd.DataFrame(
        {"task": task, "worker": worker, "label": np.asarray(labels, dtype=object)[given]}
    )
    gold = dict(zip(range(n_tasks), np.asarray(labels)[truth].tolist(), strict=True))
    return Crowd(answers=answers, gold=gold, labels=labels)


@dataclass(frozen=True)
class DecideRule:
    target: float
    min_vote_lead: int
    hysteresis: bool = True
    min_overlap: int = 2
    max_overlap: int = 5  # the project's default (Project.max_overlap)


DECIDE_RULES = (
    DecideRule(0.999, 2),
    DecideRule(0.999, 2, hysteresis=False),
    DecideRule(0.99, 2),
    DecideRule(0.999, 1),
    DecideRule(0.99, 1),
    DecideRule(0.999, 2, max_overlap=7),
    DecideRule(0.99, 2, max_overlap=7),
    DecideRule(0.999, 2, max_overlap=10),
    DecideRule(0.99, 2, max_overlap=10),
)
REVIEW_BARS = (None, 0.99, 0.95, 0.9, 0.8, 0.5)  # None: review every unsure item at the cap
# "-qc": the same crowd once quality control blocked its random and constant workers (their
# answers leave the consensus), as issue 13 asks of the defaults.
DECIDE_DATASETS = ("issue2", "issue2-qc", "issue10", "issue10-qc", *DATASETS)


@dataclass(frozen=True)
class Decided:
    """One replay's end: per item its answers, top posterior, label right or not (NaN without
    gold), whether it is unsure at the cap, and the times settled items went back to waiting."""

    answers: np.ndarray
    top: np.ndarray
    correct: np.ndarray
    done_early: np.ndarray
    unsettled: int
    unsettled_cold: int  # of which by the settle job's cold run


def replay_decide(
    answers: pd.DataFrame, gold: dict[Any, str], labels: list[str], rule: DecideRule, seed: int
) -> Decided:
    """As `replay_overlap`, with the platform's hysteresis (an item done before with the same
    label is `settled`) and the project's overlap bounds. The review bar does not change
    which items get answers (it only splits the items that reached the cap), so one replay
    serves every bar."""
    rng = np.random.default_rng(seed)
    shuffled = answers.iloc[rng.permutation(len(answers))].reset_index(drop=True)
    by_item = shuffled.groupby("task", sort=False)
    rank = by_item.cumcount().to_numpy()
    item_index = pd.Index(by_item.size().index)
    available = by_item.size().to_numpy()
    row_of_answer = item_index.get_indexer(shuffled["task"])
    granted = np.minimum(rule.min_overlap, available)
    done = np.zeros(len(item_index), dtype=bool)
    label = np.full(len(item_index), -1)
    warm, previous, settle, unsettled, unsettled_cold = None, 0, False, 0, 0
    while True:
        visible = shuffled[rank < granted[row_of_answer]]
        use_warm = not settle and WARM_MIN_ANSWERS <= len(visible) <= previous / WARM_SHARE
        result = aggregate(visible, labels=labels, initial_error=warm if use_warm else None)
        warm, previous = result.initial_error(), len(visible)
        rows = item_index.get_indexer(result.item_ids)
        settled = (done[rows] & (label[rows] == result.label_codes)) if rule.hysteresis else None
        codes = _decide_codes(result, visible, labels, rule, available[rows], settled)
        flipped = int((done[rows] & (codes == NEED_MORE)).sum())
        unsettled += flipped
        unsettled_cold += flipped if settle else 0
        done[rows], label[rows] = codes == DONE, result.label_codes
        wanting = rows[codes == NEED_MORE]
        if len(wanting):
            granted[wanting] += 1
            settle = False
        elif use_warm:
            settle = True  # the platform's settle job: a cold run on the same answers
        else:
            break
    consensus = pd.Series(result.consensus()).astype(str)
    truth = pd.Series(gold).reindex(consensus.index)
    correct = np.where(truth.isna(), np.nan, (consensus == truth).to_numpy(dtype=float))
    return Decided(
        answers=result.item_answers,
        top=result.posteriors.max(axis=1),
        correct=correct,
        done_early=codes == DONE,
        unsettled=unsettled,
        unsettled_cold=unsettled_cold,
    )


def _decide_codes(
    result: Any,
    visible: pd.DataFrame,
    labels: list[str],
    rule: DecideRule,
    available: np.ndarray,
    settled: np.ndarray | None,
) -> np.ndarray:
    items = pd.Index(result.item_ids).get_indexer(visible["task"])
    codes = pd.Index(list(result.labels)).get_indexer(visible["label"])
    lead = vote_leads(items, codes, result.label_codes, len(labels))
    # review_below=None: the cap's verdict is applied per bar afterwards (`_decide_row`).
    return overlap_decisions(
        result.item_answers,
        result.posteriors.max(axis=1),
        lead,
        min_overlap=np.minimum(rule.min_overlap, available),
        max_overlap=np.minimum(rule.max_overlap, available),
        target_posterior=rule.target,
        min_vote_lead=rule.min_vote_lead,
        settled=settled,
    )


def _load_decide_dataset(name: str, seed: int) -> tuple[pd.DataFrame, dict[Any, str], list[str]]:
    if name.startswith("issue"):
        classes, _, qc = name.removeprefix("issue").partition("-")
        crowd = issue_crowd(n_classes=int(classes), seed=100 + seed)
        answers = crowd.answers[crowd.answers["worker"] < 26] if qc else crowd.answers
        return answers, crowd.gold, list(crowd.labels)
    answers, gold = load_dataset(name)
    return answers, gold, sorted(set(answers["label"]) | set(gold.values()))


def section_decide(seeds: int = 3, datasets: tuple[str, ...] = DECIDE_DATASETS) -> None:
    print("\n## (e) The decision: target, vote lead, max overlap and review bar (min 2)\n")
    print(f"Seeds 0-{seeds - 1} (answer orders; the issue crowds are drawn anew per seed). "
          "Finalized = done early or accepted at the cap (posterior >= review bar); accuracy "
          "on finalized items with gold; expected = their mean top posterior; review = share "
          "of items sent to review; crowd acc in review = their crowd label's accuracy; "
          "unsettled = settled items moved back to waiting during the replay (all seeds), and "
          "of those, by a settle (cold) run.\n")  # fmt: skip
    print(
        "| data set | target | lead | max | hysteresis | review bar | answers/item | review "
        "| finalized acc | expected | crowd acc in review | all items acc | unsettled "
        "| by cold run | goal |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in datasets:
        for rule in DECIDE_RULES:
            runs = []
            for seed in range(seeds):
                answers, gold, labels = _load_decide_dataset(name, seed)
                runs.append(replay_decide(answers, gold, labels, rule, seed))
            bars = REVIEW_BARS if rule.hysteresis else (DEFAULT_REVIEW_BELOW,)
            for bar in bars:
                _print_decide_row(name, rule, bar, runs)


def _print_decide_row(name: str, rule: DecideRule, bar: float | None, runs: list[Decided]) -> None:
    answers = np.concatenate([r.answers for r in runs])
    top = np.concatenate([r.top for r in runs])
    correct = np.concatenate([r.correct for r in runs])
    early = np.concatenate([r.done_early for r in runs])
    final = early | (top >= (2.0 if bar is None else bar))
    known = ~np.isnan(correct)
    accepted, review = final & known, ~final & known
    acc = correct[accepted].mean() if accepted.any() else float("nan")
    in_review = correct[review].mean() if review.any() else float("nan")
    share = 1 - final.mean()
    met = "yes" if acc >= 0.99 and share <= 0.05 else "no"
    print(
        f"| {name} | {rule.target} | {rule.min_vote_lead} | {rule.max_overlap} "
        f"| {'on' if rule.hysteresis else 'off'} "
        f"| {'none' if bar is None else bar} | {answers.mean():.2f} | {share:.1%} | {acc:.4f} "
        f"| {top[accepted].mean():.4f} | {in_review:.3f} | {correct[known].mean():.4f} "
        f"| {sum(r.unsettled for r in runs)} | {sum(r.unsettled_cold for r in runs)} | {met} |",
        flush=True,
    )


SECTIONS = {"real": section_real, "few": section_few, "speed": section_speed,
            "overlap": section_overlap, "decide": section_decide}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", help=f"any of {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--seeds", type=int, default=3, help="decide: answer orders per data set")
    parser.add_argument(
        "--datasets", nargs="+", default=DECIDE_DATASETS, help="decide: data sets to replay"
    )
    args = parser.parse_args()
    chosen = args.sections or list(SECTIONS)
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    for name in chosen:
        if name == "decide":
            section_decide(args.seeds, tuple(args.datasets))
        else:
            SECTIONS[name]()


if __name__ == "__main__":
    main()
