"""Active-learning strategies (apps.models.active) on hand-made probabilities. No DB."""

from __future__ import annotations

import numpy as np
import pytest

from apps.models import active

# Rows from sure to unsure. Row 3 is a two-way tie (margin's top pick); row 4 spreads its mass
# over three labels (entropy's top pick, but its margin is 0.2).
PROBA = np.array(
    [
        [0.98, 0.01, 0.01],
        [0.80, 0.15, 0.05],
        [0.60, 0.30, 0.10],
        [0.50, 0.50, 0.00],
        [0.40, 0.20, 0.40 - 1e-9],
    ]
)


def test_margin_puts_the_tied_item_first_and_the_sure_one_last():
    order = np.argsort(-active.priority("margin", PROBA), kind="stable")
    assert order[0] == 3
    assert order[-1] == 0
    assert active.margin_uncertainty(PROBA)[3] == pytest.approx(1.0)


def test_entropy_puts_the_spread_out_item_first():
    scores = active.priority("entropy", PROBA)
    assert np.argmax(scores) == 4
    assert np.argmin(scores) == 0
    assert scores.max() <= 1.0
    assert active.entropy_uncertainty(np.array([[1 / 3] * 3]))[0] == pytest.approx(1.0)


def test_random_is_reproducible_by_seed_and_differs_across_seeds():
    a = active.select_batch("random", np.tile(PROBA, (20, 1)), 10, seed=3)
    b = active.select_batch("random", np.tile(PROBA, (20, 1)), 10, seed=3)
    c = active.select_batch("random", np.tile(PROBA, (20, 1)), 10, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_select_batch_returns_the_most_uncertain_items_in_order():
    assert active.select_batch("margin", PROBA, 2).tolist() == [3, 4]
    assert active.select_batch("margin", PROBA, 99).shape == (5,)
    assert active.select_batch("margin", PROBA, 0).shape == (0,)


def two_blobs_of_doubt() -> tuple[np.ndarray, np.ndarray]:
    """Ten equally unsure items in one tight blob, one slightly surer item far away."""
    features = np.vstack([np.zeros((10, 2)) + np.arange(10)[:, None] * 1e-3, [[50.0, 50.0]]])
    proba = np.vstack([np.tile([0.5, 0.5], (10, 1)), [[0.6, 0.4]]])
    return features, proba


@pytest.mark.parametrize("strategy", ["cluster_margin", "kcenter"])
def test_diversity_strategies_do_not_spend_a_batch_on_one_blob(strategy):
    features, proba = two_blobs_of_doubt()
    assert active.select_batch("margin", proba, 2).tolist() == [0, 1]
    picked = active.select_batch(strategy, proba, 2, features=features, seed=0)
    assert 10 in picked.tolist()
    assert len(set(picked.tolist())) == 2


@pytest.mark.parametrize("strategy", ["kcenter", "coverage"])
def test_strategies_that_know_the_labeled_items_start_away_from_them(strategy):
    features, proba = two_blobs_of_doubt()
    far_first = np.vstack([proba[10:], proba[:10]])  # the far item is now the most uncertain
    far_first[0] = [0.5, 0.5]
    picked = active.select_batch(
        strategy,
        far_first,
        1,
        features=np.vstack([features[10:], features[:10]]),
        labeled_features=np.array([[50.0, 50.0]]),
    )
    assert picked[0] > 0


def test_coverage_does_not_spend_a_batch_on_one_blob():
    # Its similarity scale is the median distance between items, so the blob needs company:
    # thirty sure items spread along the bottom, ten doubts in one corner, one far away.
    features, proba = two_blobs_of_doubt()
    rng = np.random.default_rng(0)
    spread = np.column_stack([rng.uniform(0, 100, 30), rng.uniform(0, 10, 30)])
    features = np.vstack([features[:10], [[80.0, 90.0]], spread])
    proba = np.vstack([proba, np.tile([0.99, 0.01], (30, 1))])
    picked = active.select_batch("coverage", proba, 2, features=features)
    assert picked[0] < 10
    assert picked[1] == 10


def test_coverage_covers_the_doubt_not_the_crowd():
    # Twenty sure items in one place, three unsure ones in another: plain coverage would
    # take the crowd; weighted by uncertainty it takes the doubt.
    features = np.vstack([np.zeros((20, 2)), np.full((3, 2), 10.0)])
    proba = np.vstack([np.tile([0.9, 0.1], (20, 1)), np.tile([0.55, 0.45], (3, 1))])
    assert active.select_batch("coverage", proba, 1, features=features)[0] >= 20


@pytest.mark.parametrize("strategy", ["cluster_margin", "kcenter", "coverage"])
def test_diversity_strategies_are_deterministic_given_a_seed(strategy):
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(4), size=300)
    features = rng.normal(size=(300, 5))
    a = active.select_batch(strategy, proba, 12, features=features, seed=1)
    b = active.select_batch(strategy, proba, 12, features=features, seed=1)
    np.testing.assert_array_equal(a, b)
    assert len(set(a.tolist())) == 12


def test_prioritize_puts_a_diverse_batch_first_and_ranks_the_rest_by_margin():
    features, proba = two_blobs_of_doubt()
    scores = active.prioritize("kcenter", proba, features=features, batch_size=2)
    first_two = set(np.argsort(-scores, kind="stable")[:2].tolist())
    assert 10 in first_two
    assert np.all(scores[list(first_two)] > 1.0)
    rest = [i for i in range(11) if i not in first_two]
    assert np.all(scores[rest] <= 1.0)


def test_unknown_strategies_and_missing_features_are_errors():
    with pytest.raises(ValueError, match="unknown strategy 'smart'"):
        active.select_batch("smart", PROBA, 2)
    with pytest.raises(ValueError, match="needs the items' features"):
        active.select_batch("kcenter", PROBA, 2)
