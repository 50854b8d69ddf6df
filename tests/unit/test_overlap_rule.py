"""The dynamic-overlap stopping rule: posterior target plus a vote lead, vectorised."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from apps.tasks.aggregation import (
    DECISIONS,
    DONE,
    NEED_MORE,
    NEEDS_REVIEW,
    overlap_decision,
    overlap_decisions,
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
