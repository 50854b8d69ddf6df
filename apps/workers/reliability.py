"""Worker reliability from numbers, plain Python (no Django): Beta intervals and block rules.

Services collect per worker their gold answers and the consensus model's skill, and store what
these functions return.

What a worker may learn from it (issue 12): these figures move with every gold answer (a Beta
interval's two parameters give the gold answers and the correct ones exactly), so they are
for requesters and admins only; a worker's own view shows nothing that depends on whether an
answer was right (apps/workers/api/reliability.py). The one verdict a worker does see, an
automatic block, is decided only at checkpoints: when the worker's answers on the project,
after its qualification test, reach a multiple of BLOCK_CHECK_EVERY (`checkpoint_size`), and
on exactly those first answers (`first_answers`), so the block is the same whichever run of
the coalesced aggregation sees it first, and it tells which window of answers tipped it,
never which answer. The price: a worker the rules would catch gives up to
BLOCK_CHECK_EVERY - 1 more answers first (they leave the consensus with the block).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta as beta_distribution

INTERVAL = 0.95
PRIOR = 1.0  # Beta(1, 1): uniform before any answer


@dataclass(frozen=True, slots=True)
class SkillInterval:
    mean: float
    low: float
    high: float


def beta_interval(successes: float, failures: float, *, level: float = INTERVAL) -> SkillInterval:
    """Equal-tailed interval of Beta(1 + successes, 1 + failures)."""
    if successes < 0 or failures < 0 or math.isnan(successes) or math.isnan(failures):
        raise ValueError(f"need non-negative counts, got {successes}, {failures}")
    a, b = PRIOR + successes, PRIOR + failures
    tail = (1.0 - level) / 2.0
    low, high = beta_distribution.ppf([tail, 1.0 - tail], a, b)
    return SkillInterval(mean=a / (a + b), low=float(low), high=float(high))


def skill_interval(
    *, gold_correct: int, gold_answers: int, model_skill: float | None, other_answers: int
) -> SkillInterval:
    """Accuracy with its uncertainty: gold answers count as they are, the other answers count
    as `model_skill` (the consensus model's expected accuracy) of a success each."""
    if not 0 <= gold_correct <= gold_answers:
        raise ValueError(f"gold_correct {gold_correct} outside 0..{gold_answers}")
    successes, failures = float(gold_correct), float(gold_answers - gold_correct)
    if model_skill is not None and other_answers > 0:
        skill = min(max(model_skill, 0.0), 1.0)
        successes += skill * other_answers
        failures += (1.0 - skill) * other_answers
    return beta_interval(successes, failures)


@dataclass(frozen=True, slots=True)
class BlockRules:
    below_skill: float  # 0: off
    min_answers: int
    gold_accuracy: float  # 0: off
    min_gold: int


def block_reason(
    *,
    rules: BlockRules,
    answers: int,
    skill_high: float | None,
    gold_answers: int,
    gold_correct: int,
) -> str | None:
    """Why this worker should be blocked, or None. Gold is checked first: it is direct proof."""
    if rules.gold_accuracy > 0 and gold_answers >= max(rules.min_gold, 1):
        accuracy = gold_correct / gold_answers
        if accuracy < rules.gold_accuracy:
            return (
                f"Failed gold: {gold_correct} of {gold_answers} correct ({accuracy:.0%}), "
                f"below the project's {rules.gold_accuracy:.0%}."
            )
    enough = rules.below_skill > 0 and answers >= rules.min_answers
    if enough and skill_high is not None and skill_high < rules.below_skill:
        return (
            f"Skill too low: at most {skill_high:.2f} (95% interval) after {answers} "
            f"answers, below the project's bar of {rules.below_skill:.2f}."
        )
    return None


# Gold a worker is served (apps/tasks/services/assignments.py, _gold_plan): the project's
# gold_share until the worker's gold clears the bar (the lower end of its 95% interval above
# it), then this fraction of it, enough to notice a worker who turns bad. Chosen with
# bench/gold.py (docs/benchmarks-gold.md).
TRUSTED_GOLD_FRACTION = 0.25


def gold_bar(*, gold_accuracy: float, below_skill: float, labels: int) -> float:
    """The accuracy a worker's gold has to clear before it is served less of it: the
    project's gold and skill bars (0 when off), and at least chance (1 / labels)."""
    return max(gold_accuracy, below_skill, 1.0 / max(labels, 1))


def gold_share_for(
    *,
    share: float,
    gold_answers: int,
    gold_correct: int,
    bar: float,
    trusted_fraction: float = TRUSTED_GOLD_FRACTION,
) -> float:
    """The share of a worker's claims that try gold: `share` until the worker's gold says it
    clears `bar` with 95% confidence, then `trusted_fraction` of it. A worker who turns bad
    falls back below the bar and gets the full share again."""
    if gold_answers <= 0:
        return share
    low = beta_interval(gold_correct, gold_answers - gold_correct).low
    return share * trusted_fraction if low > bar else share


def checkpoint_size(answers: int, *, every: int, skip: int) -> int:
    """How many of a worker's first answers their latest block check covers: the `skip`
    qualification-test answers and whole windows of `every` after them; 0 before the first
    window is complete (no check during the test)."""
    if every < 1:
        raise ValueError(f"every must be at least 1, got {every}")
    windows = max(answers - skip, 0) // every
    return skip + windows * every if windows else 0


def first_answers(worker: np.ndarray, order: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Mask of the answers that are among their worker's first `sizes[worker]` by `order`.

    `worker` holds each answer's worker index (0..len(sizes)-1), `order` any key that sorts a
    worker's answers oldest first (answer ids)."""
    if not len(worker):
        return np.zeros(0, dtype=bool)
    by_worker = np.lexsort((order, worker))
    grouped = worker[by_worker]
    rank_sorted = np.arange(len(grouped)) - np.searchsorted(grouped, grouped, side="left")
    rank = np.empty(len(grouped), dtype=np.int64)
    rank[by_worker] = rank_sorted
    return rank < np.asarray(sizes)[worker]


def skill_intervals(
    gold_correct: np.ndarray,
    gold_answers: np.ndarray,
    model_skill: np.ndarray,
    other_answers: np.ndarray,
    *,
    level: float = INTERVAL,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`skill_interval` for many workers at once (mean, low, high); NaN skill = no model."""
    skill = np.clip(np.nan_to_num(model_skill, nan=0.0), 0.0, 1.0)
    soft = np.where(np.isnan(model_skill), 0.0, other_answers)
    a = PRIOR + gold_correct + skill * soft
    b = PRIOR + (gold_answers - gold_correct) + (1.0 - skill) * soft
    tail = (1.0 - level) / 2.0
    return a / (a + b), beta_distribution.ppf(tail, a, b), beta_distribution.ppf(1 - tail, a, b)
