"""The pure reliability functions: Beta intervals and the block rules (no database)."""

from __future__ import annotations

import numpy as np
import pytest

from apps.workers.reliability import (
    BlockRules,
    beta_interval,
    block_reason,
    checkpoint_size,
    first_answers,
    gold_bar,
    gold_share_for,
    skill_interval,
)


def test_no_evidence_gives_the_whole_unit_interval_around_a_half():
    interval = beta_interval(0, 0)
    assert interval.mean == 0.5
    assert interval.low == pytest.approx(0.025) and interval.high == pytest.approx(0.975)


def test_more_evidence_narrows_the_interval():
    few, many = beta_interval(8, 2), beta_interval(80, 20)
    assert many.high - many.low < few.high - few.low
    assert many.low < 0.8 < many.high


def test_the_model_skill_counts_as_soft_successes_beside_gold():
    only_gold = skill_interval(gold_correct=9, gold_answers=10, model_skill=None, other_answers=0)
    with_model = skill_interval(gold_correct=9, gold_answers=10, model_skill=0.5, other_answers=90)
    assert only_gold.mean > 0.8
    assert with_model.mean == pytest.approx((1 + 9 + 45) / (2 + 100))


def test_bad_counts_are_refused():
    with pytest.raises(ValueError):
        beta_interval(-1, 2)
    with pytest.raises(ValueError):
        skill_interval(gold_correct=3, gold_answers=2, model_skill=None, other_answers=0)


RULES = BlockRules(below_skill=0.6, min_answers=20, gold_accuracy=0.7, min_gold=5)


def test_a_worker_is_blocked_when_the_skill_upper_bound_is_below_the_bar():
    reason = block_reason(rules=RULES, answers=30, skill_high=0.5, gold_answers=0, gold_correct=0)
    assert reason is not None and "Skill too low" in reason


def test_no_block_before_the_minimum_answers_or_when_the_bound_reaches_the_bar():
    assert (
        block_reason(rules=RULES, answers=10, skill_high=0.1, gold_answers=0, gold_correct=0)
        is None
    )
    assert (
        block_reason(rules=RULES, answers=99, skill_high=0.61, gold_answers=0, gold_correct=0)
        is None
    )


def test_failing_gold_blocks_once_enough_gold_was_answered():
    assert (
        block_reason(rules=RULES, answers=5, skill_high=1, gold_answers=4, gold_correct=0) is None
    )
    reason = block_reason(rules=RULES, answers=5, skill_high=1, gold_answers=5, gold_correct=2)
    assert reason is not None and "Failed gold: 2 of 5" in reason


def test_rules_at_zero_are_off():
    off = BlockRules(below_skill=0, min_answers=0, gold_accuracy=0, min_gold=0)
    assert (
        block_reason(rules=off, answers=100, skill_high=0, gold_answers=9, gold_correct=0) is None
    )


def test_the_vector_form_matches_one_worker_at_a_time():
    import numpy as np

    from apps.workers.reliability import skill_intervals

    mean, low, high = skill_intervals(
        np.array([9.0, 0.0]), np.array([10.0, 0.0]), np.array([0.5, np.nan]), np.array([90.0, 5])
    )
    one = skill_interval(gold_correct=9, gold_answers=10, model_skill=0.5, other_answers=90)
    none = skill_interval(gold_correct=0, gold_answers=0, model_skill=None, other_answers=5)
    assert (mean[0], low[0], high[0]) == pytest.approx((one.mean, one.low, one.high))
    assert (mean[1], low[1], high[1]) == pytest.approx((none.mean, none.low, none.high))


def test_a_block_check_covers_the_test_and_whole_windows_after_it():
    sizes = [checkpoint_size(n, every=10, skip=5) for n in (0, 5, 14, 15, 24, 25, 37)]
    assert sizes == [0, 0, 0, 15, 15, 25, 35]
    assert [checkpoint_size(n, every=10, skip=0) for n in (9, 10, 19, 20)] == [0, 10, 10, 20]


def test_first_answers_picks_each_workers_oldest_answers_whatever_the_row_order():
    worker = np.array([1, 0, 1, 0, 1, 0])
    answer_id = np.array([60, 50, 10, 20, 30, 5])
    mask = first_answers(worker, answer_id, np.array([2, 1]))
    assert mask.tolist() == [False, False, True, True, False, True]  # 2 of worker 0, 1 of 1
    assert first_answers(np.array([], dtype=int), np.array([]), np.array([])).tolist() == []


def test_gold_comes_at_the_projects_share_until_the_workers_gold_clears_the_bar():
    def share(answers: int, correct: int) -> float:
        return gold_share_for(
            share=0.2, gold_answers=answers, gold_correct=correct, bar=0.6, trusted_fraction=0.25
        )

    assert share(0, 0) == 0.2
    assert share(5, 5) == 0.2  # 5 of 5: the interval still reaches below 0.6
    assert share(10, 10) == pytest.approx(0.05)
    assert share(20, 10) == 0.2  # decisively bad: blocked at the next checkpoint, not trusted


def test_a_trusted_worker_who_turns_bad_gets_the_full_share_again():
    trusted = {"share": 0.1, "bar": 0.6, "trusted_fraction": 0.25}
    assert gold_share_for(gold_answers=15, gold_correct=15, **trusted) < 0.1
    # Ten wrong gold answers later the lower bound is back under the bar.
    assert gold_share_for(gold_answers=25, gold_correct=15, **trusted) == 0.1


def test_the_gold_bar_is_the_strictest_rule_and_at_least_chance():
    assert gold_bar(gold_accuracy=0.6, below_skill=0.0, labels=2) == 0.6
    assert gold_bar(gold_accuracy=0.6, below_skill=0.7, labels=10) == 0.7
    assert gold_bar(gold_accuracy=0.0, below_skill=0.0, labels=2) == 0.5
