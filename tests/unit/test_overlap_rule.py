"""The dynamic-overlap stopping rule: posterior target plus a vote lead, hysteresis for settled
items, the review bar at the maximum overlap and items no worker is left to answer;
vectorised."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from apps.tasks.aggregation import (
    DECISIONS,
    DONE,
    NEED_MORE,
    NEEDS_REVIEW,
    NO_WORKER_LEFT,
    overlap_decision,
    overlap_decisions,
    settle_floor,
    vote_leads,
)

SETTINGS = {"min_overlap": 2, "max_overlap": 5, "target_posterior": 0.999, "min_vote_lead": 2}


def test_vote_lead_is_the_consensus_votes_minus_the_best_other_label() -> None:
    # item 0: a a b -> consensus a leads by 1; item 1: a b b with consensus a -> behind by 1;
    # item 2: c c c -> leads by 3 (no other label got a vote)
    items = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    labels = np.array([0, 0, 1, 0, 1, 1, 2, 2, 2])
    leads = vote_leads(items, labels, consensus_codes=np.array([0, 0, 2]), n_labels=3)
    assert leads.tolist() == [1, -1, 3]


def test_vote_lead_counts_every_answer_when_the_project_has_one_label() -> None:
    leads = vote_leads(np.array([0, 0, 1]), np.array([0, 0, 0]), np.array([0, 0]), n_labels=1)
    assert leads.tolist() == [2, 1]


def test_a_sure_posterior_without_a_vote_lead_asks_for_more() -> None:
    # Dawid-Skene can be 0.9999 sure of a 2-1 split: one more answer, not done
    assert overlap_decision(3, 0.9999, vote_lead=1, **SETTINGS) == "need_more"
    assert overlap_decision(3, 0.9999, vote_lead=2, **SETTINGS) == "done"


def test_a_sure_posterior_without_a_vote_lead_at_the_maximum_goes_to_review() -> None:
    assert overlap_decision(5, 0.9999, vote_lead=1, **SETTINGS) == "needs_review"


def test_agreeing_votes_do_not_finish_an_unsure_item() -> None:
    assert overlap_decision(4, 0.99, vote_lead=4, **SETTINGS) == "need_more"


def test_below_the_minimum_it_always_wants_more() -> None:
    assert overlap_decision(1, 1.0, vote_lead=5, **SETTINGS) == "need_more"


def test_without_a_vote_lead_only_the_posterior_counts() -> None:
    assert overlap_decision(3, 0.9995, **SETTINGS) == "done"


def _by_the_book(n: int, top: float, lead: int) -> str:
    """The rule as the issue states it, one item at a time."""
    if n < SETTINGS["min_overlap"]:
        return "need_more"
    if top >= SETTINGS["target_posterior"] and lead >= SETTINGS["min_vote_lead"]:
        return "done"
    return "needs_review" if n >= SETTINGS["max_overlap"] else "need_more"


def test_the_vectorised_rule_follows_the_rule_item_by_item() -> None:
    grid = list(itertools.product(range(7), (0.5, 0.998, 0.999, 1.0), (-1, 0, 1, 2, 3)))
    n, top, lead = (np.array(column) for column in zip(*grid, strict=True))
    codes = overlap_decisions(n, top, lead, **SETTINGS)
    assert [DECISIONS[code] for code in codes] == [_by_the_book(*row) for row in grid]
    assert {NEED_MORE, DONE, NEEDS_REVIEW} == set(codes.tolist())


def test_the_maximum_can_differ_per_item() -> None:
    # the second item was sent back by an admin for two answers beyond max_overlap
    settings = {**SETTINGS, "max_overlap": np.array([5, 7])}
    codes = overlap_decisions(np.array([5, 5]), np.array([0.6, 0.6]), np.array([1, 1]), **settings)
    assert codes.tolist() == [NEEDS_REVIEW, NEED_MORE]


@pytest.mark.parametrize(
    ("min_overlap", "max_overlap", "target"), [(0, 3, 0.9), (4, 3, 0.9), (1, 3, 0.0), (1, 3, 1.5)]
)
def test_bad_settings_are_refused(min_overlap: int, max_overlap: int, target: float) -> None:
    with pytest.raises(ValueError):
        overlap_decisions(
            np.array([1]),
            np.array([0.5]),
            min_overlap=min_overlap,
            max_overlap=max_overlap,
            target_posterior=target,
        )


def test_a_nan_posterior_is_refused() -> None:
    with pytest.raises(ValueError):
        overlap_decisions(np.array([3, 3]), np.array([0.9, np.nan]), **SETTINGS)


# --- Hysteresis: a settled item stays settled unless its label changes or its posterior
# falls clearly below the target.


def test_the_settle_floor_sits_clearly_below_the_target() -> None:
    assert settle_floor(0.999) == pytest.approx(0.99)
    assert settle_floor(0.99) == pytest.approx(0.9)
    assert settle_floor(0.5) == 0.0


def test_a_settled_item_stays_done_when_its_posterior_wobbles_below_the_target() -> None:
    # a cold run after warm ones: 0.9991 -> 0.9987, and a late answer cut the lead to 1
    assert overlap_decision(3, 0.9987, vote_lead=1, settled=True, **SETTINGS) == "done"
    assert overlap_decision(3, 0.9987, vote_lead=1, settled=False, **SETTINGS) == "need_more"


def test_a_settled_item_leaves_when_its_posterior_falls_clearly_below_the_target() -> None:
    assert overlap_decision(3, 0.989, vote_lead=2, settled=True, **SETTINGS) == "need_more"


def test_the_vectorised_rule_keeps_settled_items_item_by_item() -> None:
    top = np.array([0.9999, 0.9987, 0.9987, 0.98])
    settled = np.array([False, True, False, True])
    codes = overlap_decisions(np.full(4, 3), top, np.full(4, 1), settled=settled, **SETTINGS)
    assert codes.tolist() == [NEED_MORE, DONE, NEED_MORE, NEED_MORE]


# --- At the maximum overlap: the consensus is accepted above the review bar.


def test_at_the_maximum_an_item_above_the_review_bar_is_accepted() -> None:
    assert overlap_decision(5, 0.93, vote_lead=1, review_below=0.9, **SETTINGS) == "done"


def test_at_the_maximum_an_item_below_the_review_bar_goes_to_review() -> None:
    assert overlap_decision(5, 0.89, vote_lead=1, review_below=0.9, **SETTINGS) == "needs_review"


def test_below_the_maximum_the_review_bar_finishes_nothing() -> None:
    assert overlap_decision(4, 0.99, vote_lead=1, review_below=0.9, **SETTINGS) == "need_more"


def test_a_review_bar_above_the_target_acts_as_the_target() -> None:
    settings = {**SETTINGS, "target_posterior": 0.95}
    assert overlap_decision(5, 0.96, vote_lead=1, review_below=0.99, **settings) == "done"


def test_a_review_bar_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError):
        overlap_decisions(np.array([5]), np.array([0.9]), review_below=1.5, **SETTINGS)


# --- No worker left who may answer: no more answers will come, as at the maximum.


def test_an_unsure_item_nobody_may_answer_goes_to_review_with_its_own_reason() -> None:
    decision = overlap_decision(
        3, 0.7, vote_lead=1, no_worker_left=True, review_below=0.9, **SETTINGS
    )
    assert decision == "no_worker_left"


def test_an_item_nobody_may_answer_is_accepted_above_the_review_bar() -> None:
    decision = overlap_decision(
        3, 0.95, vote_lead=1, no_worker_left=True, review_below=0.9, **SETTINGS
    )
    assert decision == "done"


def test_an_item_below_the_minimum_that_nobody_may_answer_goes_to_review() -> None:
    decision = overlap_decision(
        1, 0.99, vote_lead=1, no_worker_left=True, review_below=0.9, **SETTINGS
    )
    assert decision == "no_worker_left"


def test_an_item_nobody_may_answer_at_the_maximum_is_reviewed_as_unsure() -> None:
    decision = overlap_decision(
        5, 0.7, vote_lead=1, no_worker_left=True, review_below=0.9, **SETTINGS
    )
    assert decision == "needs_review"


def _with_bar_by_the_book(n: int, top: float, lead: int, settled: bool, stuck: bool) -> str:
    """The whole rule as the docs state it, one item at a time (review bar 0.9)."""
    if n >= SETTINGS["min_overlap"]:
        if top >= SETTINGS["target_posterior"] and lead >= SETTINGS["min_vote_lead"]:
            return "done"
        if settled and top >= settle_floor(SETTINGS["target_posterior"]):
            return "done"
    elif not stuck:
        return "need_more"
    if n >= SETTINGS["max_overlap"] or stuck:
        if n >= SETTINGS["min_overlap"] and top >= 0.9:
            return "done"
        return "needs_review" if n >= SETTINGS["max_overlap"] else "no_worker_left"
    return "need_more"


def test_the_vectorised_rule_with_every_option_follows_the_rule_item_by_item() -> None:
    grid = list(
        itertools.product(
            range(7), (0.5, 0.9, 0.995, 0.999, 1.0), (-1, 1, 2), (False, True), (False, True)
        )
    )
    n, top, lead, settled, stuck = (np.array(column) for column in zip(*grid, strict=True))
    codes = overlap_decisions(
        n, top, lead, review_below=0.9, settled=settled, no_worker_left=stuck, **SETTINGS
    )
    assert [DECISIONS[code] for code in codes] == [_with_bar_by_the_book(*row) for row in grid]
    assert {NEED_MORE, DONE, NEEDS_REVIEW, NO_WORKER_LEFT} == set(codes.tolist())
