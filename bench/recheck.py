"""The recheck against a replayed MTurk crowd without gold: real workers blocked, spammers caught.

Offline (no server, no database): each replay samples ITEMS images of ../shared/data/dog
(Zhou et al. 2012, 4 dog breeds, answers of real crowd workers and the true breeds) among
those at least MIN_ANSWERED of the REAL_WORKERS most active workers labeled, as
bench/mturk_crowd.py does, and gives each OVERLAP answers from distinct workers. Workers
arrive at random: a real worker replays their own answer (an image they never labeled is
returned and not offered to them again), the spammer answers uniformly at random. No gold.

At each of a worker's checkpoints (10 and 16 answers, then every 10: reliability's
`checkpoint_size`) Dawid-Skene (apps.tasks.aggregation) runs on the answers so far, and the
bench records the spam score's upper bound over the worker's first answers, scored against
the truth of their items from the other answers (`truth_without`, `soft_confusion_counts`,
`spam_scores`: the code the consensus run uses), and the worker's accuracy on the data set's
gold in that window. No verdict below SPAM_MIN_EVIDENCE answers of evidence. Two rules then
replay over the same records ("shadow" rules: blocking does not feed back into the run):

- first failure: block at the first check whose upper bound is below the bar;
- recheck (apps/workers/services.py, projects without gold): a failure blocks at once only
  when the upper bound is below SPAM_CLEAR_SHARE of the bar; otherwise the first check at
  least CHECK_EVERY answers later decides (10 -> 20, 16 -> 30), blocking if the rule fails
  there too and clearing the recheck if it passes; checks in between neither block nor clear
  (a clear failure still blocks at once).

Prints, per rule, the real workers blocked (with their gold accuracy in the window checked)
and the spammers blocked with the answers they had given; then the upper bound at each
worker's first failure, real workers at least GOOD_ACCURACY right against spammers.
Not a test. Run:

    .venv/bin/python bench/recheck.py                 # 60 replays of 80 images, ~20 s
    .venv/bin/python bench/recheck.py --items 240     # rechecks that come (~75 s)

With 80 images most real workers give 20-29 answers, so a recheck started at 16 (decided at
30) is mostly still waiting when the run ends ("recheck outcomes"); that spares them for now,
not for good. 240 images take workers to 50-100 answers, where every recheck is decided.

The data set's folder is HITLCROWD_SHARED_DATA (default ../shared/data) / dog.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mturk_crowd import DATA as SHARED_DATA
from mturk_crowd import read_replay_crowd

from apps.tasks.aggregation import aggregate
from apps.workers.reliability import (
    SPAM_CLEAR_SHARE,
    SPAM_MIN_EVIDENCE,
    checkpoint_size,
    soft_confusion_counts,
    spam_scores,
    truth_without,
)

warnings.filterwarnings("ignore")

DATA = SHARED_DATA / "dog"
REAL_WORKERS = 8  # the data set's most active workers, replayed
MIN_ANSWERED = 4  # keep images at least this many of them labeled
OVERLAP = 3  # answers per image (MTurk's MaxAssignments)
SPAMMER = "spammer"
CHECK_EVERY = 10  # settings.BLOCK_CHECK_EVERY's default
CHECK_LEAD = 4  # settings.BLOCK_CHECK_LEAD's default: the early check at 16
# A real worker the rule should leave alone: this right on gold in the window checked, or more
# (11 of 16, printed 69%).
GOOD_ACCURACY = 11 / 16


@dataclass(frozen=True)
class Data:
    labels: list[str]
    gold: dict[str, str]  # image -> true label
    answers: dict[str, dict[str, str]]  # real worker -> image -> label
    eligible: list[str]  # images at least MIN_ANSWERED real workers labeled


@dataclass(frozen=True)
class Check:
    """What a block check of a worker's first `answers` answers sees."""

    replay: int
    worker: str
    answers: int
    high: float  # the spam score's 95% upper bound; NaN: too little evidence, no verdict
    accuracy: float  # right on gold in the window


def load_data(folder: Path) -> Data:
    """The real workers' answers on images with gold, and the images a replay samples from."""
    gold, answers, eligible = read_replay_crowd(
        folder, real_workers=REAL_WORKERS, min_answered=MIN_ANSWERED
    )
    return Data(sorted(set(gold.values())), gold, answers, eligible)


def is_checkpoint(answers: int) -> bool:
    return checkpoint_size(answers, every=CHECK_EVERY, skip=0, lead=CHECK_LEAD) == answers


def replay(seed: int, *, data: Data, items: int) -> list[Check]:
    """One replay of the crowd; the checks made, in order."""
    rng = random.Random(seed)
    tasks = sorted(rng.sample(data.eligible, items))
    workers = [*data.answers, SPAMMER]
    log: list[tuple[str, str, str]] = []  # (image, worker, label)
    given: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()  # answered or returned
    per_worker: Counter[str] = Counter()
    checks = []
    while True:
        open_ = [t for t in tasks if given[t] < OVERLAP]
        offered = {w: [t for t in open_ if (t, w) not in seen] for w in workers}
        if not any(offered.values()):
            break
        worker = rng.choice(workers)
        if not offered[worker]:
            continue
        task = rng.choice(offered[worker])
        seen.add((task, worker))
        label = answer_of(worker, task, data, rng)
        if label is None:
            continue  # returned
        log.append((task, worker, label))
        given[task] += 1
        per_worker[worker] += 1
        if is_checkpoint(per_worker[worker]):
            checks.append(check(seed, log, worker, per_worker[worker], data))
    return checks


def answer_of(worker: str, task: str, data: Data, rng: random.Random) -> str | None:
    if worker == SPAMMER:
        return rng.choice(data.labels)
    return data.answers[worker].get(task)


def check(seed: int, log: list[tuple[str, str, str]], worker: str, size: int, data: Data) -> Check:
    """Dawid-Skene on the answers so far; the worker's first `size` answers scored against
    their items' truth from the other answers."""
    result = aggregate(log, labels=data.labels)
    items = sorted({task for task, _, _ in log})
    item_index = {t: i for i, t in enumerate(items)}
    worker_index = {w: i for i, w in enumerate(result.worker_ids.tolist())}
    label_index = {label: i for i, label in enumerate(data.labels)}
    position = {t: i for i, t in enumerate(result.item_ids.tolist())}
    given = np.array([label_index[label] for _, _, label in log])
    truth = truth_without(
        item_row=np.array([item_index[t] for t, _, _ in log]),
        worker_row=np.array([worker_index[w] for _, w, _ in log]),
        given=given,
        confusions=result.confusions,
        priors=result.priors,
        known=result.known[[position[t] for t in items]],
    )
    mine = np.flatnonzero([w == worker for _, w, _ in log])[:size]
    counts = soft_confusion_counts(
        np.zeros(len(mine), dtype=np.int64), given[mine], truth[mine], n_workers=1
    )
    high = float(spam_scores(counts)[2][0]) if counts.sum() >= SPAM_MIN_EVIDENCE else np.nan
    accuracy = float(np.mean([data.gold[log[j][0]] == log[j][2] for j in mine]))
    return Check(seed, worker, size, high, accuracy)


# --- Rules (replayed over a worker's checks, oldest first) -----------------------------------


def fails(check: Check, bar: float) -> bool:
    return not np.isnan(check.high) and check.high < bar


def first_failure(checks: list[Check], bar: float) -> Check | None:
    """The old rule: the first failing check blocks."""
    return next((c for c in checks if fails(c, bar)), None)


def recheck_run(checks: list[Check], bar: float) -> tuple[Check | None, int, bool]:
    """The new rule (apps/workers/services.py, `_recheck_step`): the check that blocks, the
    rechecks passed (cleared), and whether one was still waiting when the run ended."""
    since = None  # answers at the failure that started the recheck
    cleared = 0
    for c in checks:
        failed = fails(c, bar)
        if failed and c.high < bar * SPAM_CLEAR_SHARE:
            return c, cleared, False
        if since is None:
            since = c.answers if failed else None
        elif c.answers >= since + CHECK_EVERY:
            if failed:
                return c, cleared, False
            since, cleared = None, cleared + 1
    return None, cleared, since is not None


def recheck(checks: list[Check], bar: float) -> Check | None:
    return recheck_run(checks, bar)[0]


RULES: dict[str, Callable[[list[Check], float], Check | None]] = {
    "first failure": first_failure,
    "recheck": recheck,
}


def by_worker(runs: Iterable[list[Check]]) -> list[list[Check]]:
    """Each (replay, worker)'s checks, oldest first."""
    grouped: dict[tuple[int, str], list[Check]] = defaultdict(list)
    for checks in runs:
        for c in checks:
            grouped[(c.replay, c.worker)].append(c)
    return [sorted(cs, key=lambda c: c.answers) for _, cs in sorted(grouped.items())]


def rule_lines(name: str, workers: list[list[Check]], bar: float, replays: int) -> list[str]:
    blocked = [(cs[0].worker, b) for cs in workers if (b := RULES[name](cs, bar)) is not None]
    real = [b for w, b in blocked if w != SPAMMER]
    spam = [b.answers for w, b in blocked if w == SPAMMER]
    good = [b for b in real if b.accuracy >= GOOD_ACCURACY]
    accuracies = sorted(round(b.accuracy, 2) for b in real)
    median = f"{np.median(spam):.0f}" if spam else "-"
    return [
        f"{name}:",
        f"  real workers blocked {len(real)} (in {len({b.replay for b in real})} of {replays} "
        f"replays), {len(good)} of them >= {GOOD_ACCURACY:.0%} right on gold in the window "
        f"checked; window accuracies {accuracies}",
        f"  real blocks per worker {dict(sorted(Counter(b.worker for b in real).items()))}",
        f"  spammers blocked {len(spam)} of {replays}, median answers at the block {median} "
        f"(range {min(spam, default='-')}-{max(spam, default='-')})",
    ]


def recheck_lines(workers: list[list[Check]], bar: float) -> list[str]:
    """How the rechecks ended, real workers and spammers apart."""
    lines = ["recheck outcomes:"]
    for kind, spammer in (("real workers", False), ("spammers", True)):
        runs = [recheck_run(cs, bar) for cs in workers if (cs[0].worker == SPAMMER) == spammer]
        cleared = sum(n for _, n, _ in runs)
        open_ = sum(waiting for _, _, waiting in runs)
        passed = sum(b is None and n > 0 for b, n, _ in runs)
        lines.append(
            f"  {kind}: {cleared} rechecks cleared ({passed} workers left unblocked after one), "
            f"{open_} still waiting when the run ended"
        )
    return lines


def reach_lines(workers: list[list[Check]]) -> list[str]:
    """How far workers got: a recheck waits for the first check CHECK_EVERY answers on."""
    lines = ["last checkpoint reached (answers: workers):"]
    for kind, spammer in (("real workers", False), ("spammers", True)):
        last = Counter(cs[-1].answers for cs in workers if (cs[0].worker == SPAMMER) == spammer)
        lines.append(f"  {kind}: {dict(sorted(last.items()))}")
    return lines


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    low, mid, top = np.min(values), np.median(values), np.max(values)
    return f"n={len(values)} min {low:.3f} median {mid:.3f} max {top:.3f}"


def first_failure_lines(workers: list[list[Check]], bar: float) -> list[str]:
    """The upper bound at each worker's first failure, by who failed."""
    groups: dict[str, list[float]] = {
        f"real >= {GOOD_ACCURACY:.0%} right": [],
        f"real < {GOOD_ACCURACY:.0%} right": [],
        "spammers": [],
    }
    names = list(groups)
    for cs in workers:
        failure = first_failure(cs, bar)
        if failure is None:
            continue
        if failure.worker == SPAMMER:
            groups[names[2]].append(failure.high)
        else:
            groups[names[0 if failure.accuracy >= GOOD_ACCURACY else 1]].append(failure.high)
    clear = bar * SPAM_CLEAR_SHARE
    return [f"upper bound at the first failure (clear below {clear:g}):"] + [
        f"  {name}: {spread(values)}, {sum(v < clear for v in values)} clear"
        for name, values in groups.items()
    ]


def overall_accuracy(data: Data) -> dict[str, float]:
    """Each real worker's share right on gold over all their answers in the data set."""
    return {
        worker: round(float(np.mean([data.gold[t] == label for t, label in answers.items()])), 2)
        for worker, answers in data.answers.items()
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replays", type=int, default=60)
    parser.add_argument("--items", type=int, default=80, help="images per replay")
    parser.add_argument("--seed", type=int, default=0, help="replay i uses seed + i")
    parser.add_argument("--bar", type=float, default=0.5, help="the project's spam score bar")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not (DATA / "answers.csv").is_file() or not (DATA / "gold.csv").is_file():
        sys.exit(f"no data set at {DATA} (answers.csv, gold.csv); set HITLCROWD_SHARED_DATA")
    data = load_data(DATA)
    print(f"real workers right on gold over all their answers: {overall_accuracy(data)}")
    started = time.perf_counter()
    seeds = range(args.seed, args.seed + args.replays)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        runs = list(pool.map(partial(replay, data=data, items=args.items), seeds))
    seconds = time.perf_counter() - started
    print(
        f"{args.replays} replays of {args.items} images x {OVERLAP} answers, "
        f"{len(data.answers)} real workers + 1 spammer, bar {args.bar:g}, seeds "
        f"{args.seed}..{args.seed + args.replays - 1} ({seconds:.0f} s)\n"
    )
    workers = by_worker(runs)
    for name in RULES:
        print("\n".join(rule_lines(name, workers, args.bar, args.replays)))
    print("\n".join(recheck_lines(workers, args.bar)))
    print("\n".join(reach_lines(workers)))
    print("\n".join(first_failure_lines(workers, args.bar)))


if __name__ == "__main__":
    main()
