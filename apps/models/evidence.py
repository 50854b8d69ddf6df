"""How well a model's accuracy is known, and the confidence threshold that meets an accuracy.

Pure (numpy only). The evidence for a model is a list of (confidence, correct) pairs on items
it never trained on: its holdout, and audited items (people labeled them without seeing the
model, and audited items never enter a training set, so every version can be judged on all of
them). Accuracy comes with a one-sided Wilson interval: the lower bound is what a model is held
to, so a version judged on 10 held-out items cannot claim 0.80 (its bound is 0.55).

Costs worth knowing before choosing a target (z = 1.645, one-sided 95%): with no error at all,
the lower bound reaches 0.95 after 52 audited items, 0.97 after 88 and 0.99 after 268; each
error found adds roughly as many again. A small project pays for those audits with items the
model could have labeled (bench/autolabel.py measures it on the digits).

Promotion is a paired test on the same items (promotion_verdict): comparing a candidate's lower
bound with the incumbent's point estimate, as first tried, kept the demo's seed model for 40-80
retrains on the digits (the audited items are easy ones, where the seed model is 0.95 right).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# One-sided 95%: the accuracy is at least the lower bound 19 times in 20.
Z = 1.645
# Fewer judged items than this never count as a record, whatever the bound says.
MIN_EVIDENCE = 20


@dataclass(frozen=True)
class Record:
    """Correct answers out of n, with the interval."""

    n: int
    correct: int
    low: float
    high: float

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.n if self.n else None

    @property
    def enough(self) -> bool:
        return self.n >= MIN_EVIDENCE


def wilson(correct: int, n: int, z: float = Z) -> tuple[float, float]:
    """Wilson score interval of a proportion: sound at 0 or n successes, unlike p +- z*se."""
    if n <= 0:
        return 0.0, 1.0
    p = correct / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def record_of(correct: Sequence[bool] | np.ndarray, z: float = Z) -> Record:
    flags = np.asarray(correct, dtype=bool)
    hits = int(flags.sum())
    low, high = wilson(hits, len(flags), z)
    return Record(n=len(flags), correct=hits, low=low, high=high)


def audits_needed(target: float, z: float = Z) -> int:
    """Audited items, all correct, before the lower bound can reach `target`."""
    if target >= 1.0:
        return 10**9
    return max(MIN_EVIDENCE, math.ceil(z * z * target / (1 - target)))


@dataclass(frozen=True)
class Threshold:
    """The lowest confidence whose evidence at or above it has a lower bound >= target.
    `value` None: no confidence qualifies yet (nothing may auto-label)."""

    value: float | None
    record: Record  # the evidence at or above `value` (all of it when value is None)
    target: float


def threshold_for_accuracy(
    confidence: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    target: float,
    z: float = Z,
) -> Threshold:
    """Scan the evidence from the most confident item down; each distinct confidence is a
    candidate threshold judged on every item at or above it. The lowest qualifying one wins,
    since a lower threshold auto-labels more items at the accuracy asked for."""
    conf = np.asarray(confidence, dtype=float)
    hits = np.asarray(correct, dtype=bool)
    if len(conf) != len(hits):
        raise ValueError("confidence and correct differ in length")
    everything = record_of(hits, z)
    if len(conf) == 0:
        return Threshold(None, everything, target)
    order = np.argsort(-conf, kind="stable")
    conf, hits = conf[order], hits[order]
    n = np.arange(1, len(conf) + 1)
    right = np.cumsum(hits)
    # A candidate ends a run of equal confidences: a threshold cannot split ties.
    ends = np.flatnonzero(np.append(conf[1:] != conf[:-1], True))
    best: Threshold | None = None
    for end in ends:
        count, good = int(n[end]), int(right[end])
        low, high = wilson(good, count, z)
        if count >= MIN_EVIDENCE and low >= target:
            best = Threshold(float(conf[end]), Record(count, good, low, high), target)
    return best or Threshold(None, everything, target)


@dataclass(frozen=True)
class Verdict:
    promote: bool
    reason: str


def promotion_verdict(
    candidate: Sequence[bool] | np.ndarray,
    incumbent: Sequence[bool] | np.ndarray | None,
    baseline: float,
    incumbent_name: str = "",
    min_gain: float = 0.0,
    successor: bool = False,
) -> Verdict:
    """Whether a candidate judged right/wrong on items neither trained on beats the incumbent
    judged on the same items (a paired test: of the items exactly one of them got right, the
    candidate's share must have a lower bound above one half, and its accuracy must gain more
    than min_gain). With no incumbent judged on MIN_EVIDENCE of them, the candidate's lower
    bound must clear `baseline` (the share of the most common label: answering one class).

    `successor`: the candidate is the incumbent's own kind of model trained on more labels,
    so it replaces it unless it is clearly worse (the upper bound of its share of the items
    they disagree on below one half); a min_gain above 0 must be gained on top.
    Superiority kept the digits demo on one version for 10-20 retrains, the candidates
    differing from it on 1-4 of 60-150 judged items (docs/benchmarks-simulate.md)."""
    mine = record_of(candidate)
    if not mine.enough:
        return Verdict(False, f"too little evidence: {mine.n} judged items, needs {MIN_EVIDENCE}")
    shown = f"accuracy {mine.accuracy:.4f} on {mine.n} held-out and audited items"
    if incumbent is None or len(incumbent) < MIN_EVIDENCE:
        bar = baseline + min_gain
        word = "better" if mine.low > bar else "not better"
        return Verdict(
            mine.low > bar,
            f"{word}: {shown}, lower bound {mine.low:.4f} vs one-class baseline {bar:.4f}",
        )
    theirs = np.asarray(incumbent, dtype=bool)
    ours = np.asarray(candidate, dtype=bool)
    if len(theirs) != len(ours):
        raise ValueError("candidate and incumbent must be judged on the same items")
    wins, losses = int((ours & ~theirs).sum()), int((theirs & ~ours).sum())
    low, high = wilson(wins, wins + losses)
    gain = (wins - losses) / len(ours)
    name = incumbent_name or "incumbent"
    head = (
        f"{shown} vs {name} {theirs.mean():.4f}; right on {wins} it got wrong, wrong on "
        f"{losses} it got right"
    )
    if successor:
        better = high >= 0.5 and (gain > min_gain or min_gain <= 0)
        gained = f"; gain {gain:+.4f}, needs > {min_gain:.4f}" if min_gain > 0 else ""
        return Verdict(
            better,
            f"{'not worse' if better else 'worse'}: {head} (upper bound {high:.4f} of the share "
            f"won, needs >= 0.5{gained})",
        )
    better = wins + losses > 0 and low > 0.5 and gain > min_gain
    return Verdict(
        better,
        f"{'better' if better else 'not better'}: {head} (lower bound {low:.4f} of the "
        f"share won, needs > 0.5; gain {gain:+.4f}, needs > {min_gain:.4f})",
    )
