"""Block rules against a simulated crowd: who gets blocked, and after how many answers.

Offline (no server, no database): workers answer items from their own confusion matrices,
items get 2 to 5 answers by the platform's dynamic-overlap rule, 10% of the tasks are gold,
and Dawid-Skene (apps.tasks.aggregation) runs every RUN_EVERY answers, as the coalesced
consensus job does. At every size a block check might cover (each answer count from 5 to 20,
then every 10) the bench records what the rules see: the spam score's interval over the
worker's first answers (apps.workers.reliability, the code the consensus run uses), its
evidence, and their gold answers. Every candidate rule is then replayed over the same records
at its own checkpoints (the platform's: every BLOCK_CHECK_EVERY answers and the early check
BLOCK_CHECK_LEAD before the second; `--schedule`) ("shadow" rules: blocking does not feed
back into the run; a blocked spammer's answers would leave the consensus, which only helps).

Prints, per label count and candidate rule, per worker type: the share blocked, the share
blocked within 20 answers and by the 16th (a block decided then lands by the 20th live), and
the median answers before the block. Not a test. Run:

    .venv/bin/python bench/blocking.py                     # 2, 4 and 10 classes, 8 seeds
    .venv/bin/python bench/blocking.py --classes 2 --seeds 20
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.tasks.aggregation import (
    DEFAULT_MIN_VOTE_LEAD,
    DEFAULT_TARGET_POSTERIOR,
    NEED_MORE,
    aggregate,
    overlap_decisions,
    vote_leads,
)
from apps.workers.reliability import (
    SPAM_MIN_EVIDENCE,
    beta_interval,
    soft_confusion_counts,
    spam_scores,
    truth_without,
)

warnings.filterwarnings("ignore")

CHECK_EVERY = 10  # settings.BLOCK_CHECK_EVERY's default
CHECK_LEAD = 4  # settings.BLOCK_CHECK_LEAD's default
DEFAULT_EARLY = (2 * CHECK_EVERY - CHECK_LEAD,)  # reliability.early_checkpoint: 16
# Every size a check might cover is recorded (each rule replays its own checkpoints).
RECORDED = tuple(range(5, 21)) + tuple(range(30, 1001, CHECK_EVERY))
RUN_EVERY = 30  # answers between consensus runs (the job coalesces a burst into one run)
GOLD_SHARE = 0.1
MIN_OVERLAP, MAX_OVERLAP = 2, 5
WITHIN = 20  # the goal: random and constant workers blocked within 20 answers
# apps/tasks/models/projects.py DEFAULT_BLOCK_* (this bench stays importable without Django).
DEFAULT_RULE = (0.5, 10, 0.5, 5)

# The crowd of issue 13's outside runs (19 reliable, 7 noisy, 3 random, 1 constant), with two
# of the reliable ones at the 0.8 floor and one noisy one at the 0.57 of finding 4.
CROWD = [
    ("reliable", 17, (0.85, 0.95)),
    ("reliable 0.8", 2, (0.8, 0.8)),
    ("noisy", 6, (0.65, 0.75)),
    ("noisy 0.57", 1, (0.57, 0.57)),
    ("random", 3, None),
    ("constant", 1, None),
]
TYPES = [name for name, _, _ in CROWD]


@dataclass
class Worker:
    kind: str
    accuracy: float | None
    answers: list[int] = field(default_factory=list)  # indexes into the answer log


@dataclass
class Check:
    kind: str
    worker: int
    answers: int
    spam_high: float
    gold_answers: int
    gold_correct: int
    evidence: float  # answers on items whose truth is known (soft counts)


def class_prior(classes: int) -> np.ndarray:
    if classes == 2:
        return np.array([0.63, 0.37])  # the text project's majority share in issue 13
    if classes == 4:
        return np.array([0.55, 0.20, 0.15, 0.10])  # bench/simulate.py's text set
    return np.full(classes, 1.0 / classes)  # digits


def answer(worker: Worker, truth: int, classes: int, rng: np.random.Generator) -> int:
    if worker.kind == "random":
        return int(rng.integers(classes))
    if worker.kind == "constant":
        return 0  # the majority class
    if rng.random() < worker.accuracy:
        return truth
    return int((truth + rng.integers(1, classes)) % classes)


class Crowd:
    """One simulated project: the answer log, the items' wanted answers, the checks made."""

    def __init__(self, classes: int, items: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.classes = classes
        self.labels = [str(c) for c in range(classes)]
        self.truth = self.rng.choice(classes, size=items, p=class_prior(classes))
        self.gold = self.rng.random(items) < GOLD_SHARE
        self.workers = [
            Worker(kind, None if span is None else float(self.rng.uniform(*span)))
            for kind, count, span in CROWD
            for _ in range(count)
        ]
        self.answered: list[set[int]] = [set() for _ in self.workers]
        self.log_item: list[int] = []
        self.log_worker: list[int] = []
        self.log_label: list[int] = []
        self.wanted = np.where(self.gold, 0, MIN_OVERLAP)
        self.given = np.zeros(items, dtype=np.int64)
        self.checked = np.zeros(len(self.workers), dtype=np.int64)
        self.checks: list[Check] = []

    def simulate(self) -> list[Check]:
        real, golds = np.flatnonzero(~self.gold), np.flatnonzero(self.gold)
        since_run = 0
        while True:
            open_real = real[self.given[real] < self.wanted[real]]
            if not len(open_real):
                break
            w = int(self.rng.integers(len(self.workers)))
            if self.rng.random() < GOLD_SHARE:
                pool = [g for g in golds.tolist() if g not in self.answered[w]]
                item = int(self.rng.choice(pool)) if pool else None
            else:  # the oldest open item the worker has not answered
                item = next((i for i in open_real.tolist() if i not in self.answered[w]), None)
            if item is None:
                continue
            self.give(w, item)
            since_run += 1
            if since_run >= RUN_EVERY:
                since_run = 0
                self.run()
        self.run()
        return self.checks

    def give(self, w: int, item: int) -> None:
        worker = self.workers[w]
        self.answered[w].add(item)
        worker.answers.append(len(self.log_item))
        self.log_item.append(item)
        self.log_worker.append(w)
        self.log_label.append(answer(worker, int(self.truth[item]), self.classes, self.rng))
        self.given[item] += 1

    def run(self) -> None:
        """One consensus run: the checks due, then the answers each item still wants."""
        answers = [
            (i, w, self.labels[c])
            for i, w, c in zip(self.log_item, self.log_worker, self.log_label, strict=True)
        ]
        known = {i: self.labels[self.truth[i]] for i in set(self.log_item) if self.gold[i]}
        result = aggregate(answers, labels=self.labels, true_labels=known)
        self.check(result)
        self.steer(result)

    def check(self, result) -> None:
        item_rows = {item: row for row, item in enumerate(result.item_ids.tolist())}
        worker_rows = {worker: row for row, worker in enumerate(result.worker_ids.tolist())}
        codes = np.array(self.log_label)
        truth = truth_without(
            item_row=np.array([item_rows[i] for i in self.log_item]),
            worker_row=np.array([worker_rows[w] for w in self.log_worker]),
            given=codes,
            confusions=result.confusions,
            priors=result.priors,
            known=result.known,
        )
        for w, worker in enumerate(self.workers):
            for size in RECORDED:
                if self.checked[w] < size <= len(worker.answers):
                    self.checked[w] = size
                    self.record(w, worker, size, codes, truth)

    def record(self, w: int, worker: Worker, size: int, codes, truth) -> None:
        """What a block check of the worker's first `size` answers sees in this run."""
        first = np.array(worker.answers[:size])
        counts = soft_confusion_counts(
            np.zeros(size, dtype=np.int64), codes[first], truth[first], n_workers=1
        )
        _, _, high = spam_scores(counts)
        items = np.array(self.log_item)[first]
        on_gold = self.gold[items]
        self.checks.append(
            Check(
                kind=worker.kind,
                worker=w,
                answers=size,
                spam_high=float(high[0]),
                gold_answers=int(on_gold.sum()),
                gold_correct=int((codes[first][on_gold] == self.truth[items[on_gold]]).sum()),
                evidence=float(counts.sum()),
            )
        )

    def steer(self, result) -> None:
        """Dynamic overlap as services/consensus/overlap.py steers it: one more answer while
        unsure."""
        rows = {item: row for row, item in enumerate(result.item_ids.tolist())}
        answer_rows = np.array([rows[i] for i in self.log_item])
        lead = vote_leads(
            answer_rows, np.array(self.log_label), result.label_codes, len(self.labels)
        )
        items = np.array([i for i in result.item_ids.tolist() if not self.gold[i]], dtype=int)
        at = np.array([rows[i] for i in items.tolist()], dtype=int)
        n = result.item_answers[at]
        codes = overlap_decisions(
            n,
            result.posteriors[at].max(axis=1),
            lead[at],
            min_overlap=MIN_OVERLAP,
            max_overlap=MAX_OVERLAP,
            target_posterior=DEFAULT_TARGET_POSTERIOR,
            min_vote_lead=DEFAULT_MIN_VOTE_LEAD,
        )
        more = np.minimum(np.maximum(n + 1, MIN_OVERLAP), MAX_OVERLAP)
        self.wanted[items] = np.where(codes == NEED_MORE, more, n)


@dataclass(frozen=True)
class Rule:
    spam_bar: float  # block when the spam score's upper bound is below it (0: off)
    min_answers: int
    gold_bar: float  # block when the gold accuracy's upper bound is below it (0: off)
    min_gold: int
    early: tuple[int, ...] = DEFAULT_EARLY  # checkpoints besides the multiples of CHECK_EVERY
    min_evidence: float = SPAM_MIN_EVIDENCE  # below it the spam rule gives no verdict

    def checks_at(self, size: int) -> bool:
        return size % CHECK_EVERY == 0 or size in self.early

    def blocks(self, check: Check) -> bool:
        if not self.checks_at(check.answers):
            return False
        spam = self.spam_bar > 0 and check.answers >= self.min_answers
        spam = spam and check.evidence >= self.min_evidence
        if spam and check.spam_high < self.spam_bar:
            return True
        if self.gold_bar <= 0 or check.gold_answers < max(self.min_gold, 1):
            return False
        wrong = check.gold_answers - check.gold_correct
        return beta_interval(check.gold_correct, wrong).high < self.gold_bar

    def __str__(self) -> str:
        spam = f"spam<{self.spam_bar:g} from {self.min_answers}" if self.spam_bar else "spam off"
        gold = f"gold<{self.gold_bar:g} from {self.min_gold}" if self.gold_bar else "gold off"
        early = "/".join(map(str, self.early)) if self.early else "none"
        evidence = (
            f", evidence {self.min_evidence:g}" if self.min_evidence != SPAM_MIN_EVIDENCE else ""
        )
        return f"{spam}{evidence}, {gold}, early checks {early}"


DEFAULTS = Rule(*DEFAULT_RULE)


def table(rule: Rule, checks_by_seed: list[list[Check]]) -> list[str]:
    """Per worker type: blocked share, blocked within WITHIN answers, answers before block."""
    stats: dict[str, list[int | None]] = {kind: [] for kind in TYPES}
    answers_given: dict[str, list[int]] = {kind: [] for kind in TYPES}
    for checks in checks_by_seed:
        first_block: dict[int, int | None] = {}
        kind_of: dict[int, str] = {}
        last: dict[int, int] = {}
        for check in sorted(checks, key=lambda c: (c.worker, c.answers)):
            kind_of[check.worker] = check.kind
            last[check.worker] = check.answers
            if first_block.get(check.worker) is None:
                first_block[check.worker] = check.answers if rule.blocks(check) else None
        for worker, kind in kind_of.items():
            stats[kind].append(first_block[worker])
            answers_given[kind].append(last[worker])
    rows = []
    for kind in TYPES:
        outcomes = stats[kind]
        if not outcomes:
            continue
        blocked = [n for n in outcomes if n is not None]
        within = sum(n <= WITHIN for n in blocked)
        # Live, the worker goes on answering while the job decides: up to CHECK_LEAD more.
        in_time = sum(n <= WITHIN - CHECK_LEAD for n in blocked)
        median = f"{np.median(blocked):.0f}" if blocked else "-"
        rows.append(
            f"| {rule} | {kind} | {len(outcomes)} | {len(blocked) / len(outcomes):.2f} "
            f"({len(blocked)}) | "
            f"{within / len(outcomes):.2f} | {in_time / len(outcomes):.2f} | {median} | "
            f"{np.median(answers_given[kind]):.0f} |"
        )
    return rows


HEADER = (
    "| rule | worker | n | blocked | within 20 | by the 16th | answers before block (median) "
    "| answers given (median) |"
)
SPAM_BARS = (0.3, 0.4, 0.5, 0.6)
GOLD_BARS = (0.5, 0.6, 0.7)


def candidates() -> list[Rule]:
    """Each rule alone at several bars, then the platform's defaults
    (apps/tasks/models/projects.py)."""
    rules = [Rule(bar, least, 0.0, 5) for least in (10, 20) for bar in SPAM_BARS]
    rules += [Rule(0.0, 10, bar, 5) for bar in GOLD_BARS]
    rules.append(DEFAULTS)
    return rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--classes", type=int, nargs="+", default=[2, 4, 10])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument(
        "--only", action="store_true", help="only the rules given with --rule and the defaults"
    )
    parser.add_argument(
        "--rule",
        nargs=4,
        type=float,
        action="append",
        metavar=("SPAM", "MIN", "GOLD", "MIN_GOLD"),
        help="a rule to add to the candidates",
    )
    parser.add_argument(
        "--schedule",
        action="append",
        default=[],
        metavar="16",
        help="checkpoints besides every CHECK_EVERY ('' for none): each rule replayed under each",
    )
    parser.add_argument(
        "--min-evidence",
        type=float,
        action="append",
        default=[],
        help="the spam rule's least evidence: each rule replayed under each too",
    )
    args = parser.parse_args()
    rules = [DEFAULTS] if args.only else candidates()
    for extra in args.rule or []:
        rules.append(Rule(extra[0], int(extra[1]), extra[2], int(extra[3])))
    base = list(rules)
    for schedule in args.schedule:
        early = tuple(int(size) for size in schedule.split(",") if size)
        rules += [replace(rule, early=early) for rule in base]
    for evidence in args.min_evidence:
        rules += [replace(rule, min_evidence=evidence) for rule in base]
    for classes in args.classes:
        started = time.perf_counter()
        runs = [Crowd(classes, args.items, seed).simulate() for seed in range(args.seeds)]
        seconds = time.perf_counter() - started
        print(f"\n## {classes} classes: {args.items} items, {args.seeds} seeds ({seconds:.0f} s)\n")
        print(HEADER)
        print("|---|---|---|---|---|---|---|---|")
        for rule in rules:
            for row in table(rule, runs):
                print(row)


if __name__ == "__main__":
    main()
