"""Worker reliability from numbers, plain Python (no Django): Beta intervals and block rules.

Services collect per worker their gold answers and the consensus model's skill, and store what
these functions return.
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
