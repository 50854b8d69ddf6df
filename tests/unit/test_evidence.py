"""apps.models.evidence: intervals, the threshold that meets an accuracy, promotion."""

from __future__ import annotations

import numpy as np
import pytest

from apps.models import evidence


def test_the_wilson_bound_of_ten_out_of_ten_is_far_below_one():
    low, high = evidence.wilson(10, 10)
    assert 0.7 < low < 0.8 and high == 1.0


def test_eight_of_ten_held_out_cannot_claim_eighty_percent():
    low, _ = evidence.wilson(8, 10)
    assert low < 0.6


def test_audits_needed_grow_with_the_target():
    assert evidence.audits_needed(0.95) == 52
    assert evidence.audits_needed(0.97) == 88
    assert evidence.audits_needed(0.99) == 268
    low, _ = evidence.wilson(268, 268)
    assert low >= 0.99 > evidence.wilson(267, 267)[0]


def test_the_threshold_is_the_lowest_confidence_whose_items_above_meet_the_target():
    # 300 items at 0.99 all right, 100 at 0.8 with 20 wrong.
    confidence = [0.99] * 300 + [0.8] * 100
    correct = [True] * 300 + [True] * 80 + [False] * 20
    found = evidence.threshold_for_accuracy(confidence, correct, target=0.95)
    assert found.value == 0.99 and found.record.n == 300
    looser = evidence.threshold_for_accuracy(confidence, correct, target=0.9)
    assert looser.value == 0.8 and looser.record.n == 400


def test_no_threshold_without_enough_evidence():
    found = evidence.threshold_for_accuracy([0.999] * 50, [True] * 50, target=0.99)
    assert found.value is None and found.record.n == 50


def test_ties_are_never_split():
    confidence = [0.9] * 100
    correct = [True] * 99 + [False]
    found = evidence.threshold_for_accuracy(confidence, correct, target=0.9)
    assert found.value == 0.9 and found.record.n == 100


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        evidence.threshold_for_accuracy([0.9, 0.8], [True], target=0.9)


def test_a_first_version_judged_on_ten_items_is_not_promoted():
    verdict = evidence.promotion_verdict([True] * 8 + [False] * 2, None, baseline=0.1)
    assert not verdict.promote and "too little evidence" in verdict.reason


def test_the_candidate_must_win_clearly_more_of_the_items_they_disagree_on():
    incumbent = np.array([True] * 90 + [False] * 10)  # 0.90
    close = incumbent.copy()
    close[90:93] = True  # right on 3 it got wrong
    close[0] = False  # wrong on 1 it got right
    clear = np.ones(100, dtype=bool)  # right on all 10 it got wrong
    assert not evidence.promotion_verdict(close, incumbent, 0.1, "import").promote
    verdict = evidence.promotion_verdict(clear, incumbent, 0.1, "import")
    assert verdict.promote and "import 0.9000" in verdict.reason
    assert "right on 10 it got wrong, wrong on 0" in verdict.reason


def test_a_tie_keeps_the_incumbent():
    same = [True] * 50 + [False] * 5
    assert not evidence.promotion_verdict(same, same, 0.1).promote


def test_a_successor_replaces_its_incumbent_unless_clearly_worse():
    incumbent = np.array([True] * 90 + [False] * 10)
    tie = incumbent.copy()
    tie[[0, 90]] = [False, True]  # one each way
    slightly_worse = incumbent.copy()
    slightly_worse[:2] = False  # wrong on 2 it got right, right on none
    clearly_worse = incumbent.copy()
    clearly_worse[:5] = False  # wrong on 5 it got right
    assert evidence.promotion_verdict(tie, incumbent, 0.1, "active", successor=True).promote
    assert evidence.promotion_verdict(incumbent, incumbent, 0.1, successor=True).promote
    verdict = evidence.promotion_verdict(slightly_worse, incumbent, 0.1, successor=True)
    assert verdict.promote and verdict.reason.startswith("not worse")
    verdict = evidence.promotion_verdict(clearly_worse, incumbent, 0.1, successor=True)
    assert not verdict.promote and verdict.reason.startswith("worse")
    # Not a successor (the import's model): the same tie keeps the incumbent.
    assert not evidence.promotion_verdict(tie, incumbent, 0.1, "import").promote


def test_a_successor_still_needs_a_min_gain_above_zero():
    incumbent = np.array([True] * 90 + [False] * 10)
    better = incumbent.copy()
    better[90:92] = True  # gains 0.02
    assert not evidence.promotion_verdict(
        incumbent, incumbent, 0.1, min_gain=0.01, successor=True
    ).promote
    assert evidence.promotion_verdict(better, incumbent, 0.1, min_gain=0.01, successor=True).promote


def test_min_gain_is_required_on_top():
    incumbent = np.array([True] * 90 + [False] * 10)
    clear = np.ones(100, dtype=bool)  # gains 0.10
    assert not evidence.promotion_verdict(clear, incumbent, 0.1, min_gain=0.2).promote


def test_without_an_incumbent_record_the_bar_is_the_one_class_baseline():
    candidate = np.arange(40) % 4 != 0  # 0.75, bound ~0.63
    assert evidence.promotion_verdict(candidate, None, baseline=0.5).promote
    assert not evidence.promotion_verdict(candidate, None, baseline=0.7).promote
    # An incumbent judged on 5 items has no record yet.
    assert evidence.promotion_verdict(candidate, [True] * 5, baseline=0.5).promote


def test_the_two_must_be_judged_on_the_same_items():
    with pytest.raises(ValueError):
        evidence.promotion_verdict([True] * 30, [True] * 25, baseline=0.5)
